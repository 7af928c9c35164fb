"""`scenario.yaml`: the scenario's settings, validated by pydantic.

Unknown keys are errors (a misspelt `horizon_quarter` must not silently fall back to a
default). Field descriptions feed the README's format reference.
"""

from __future__ import annotations

from pathlib import Path
from types import UnionType
from typing import Annotated, Literal, get_args

import pandas as pd
import yaml
from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainValidator, ValidationError, field_validator,
                      model_validator)

from forecasts import METHODS as FORECAST_CANDIDATES
from forecasts import SCALES as FORECAST_SCALES
from forecasts import method_names
from planner.problems import Problem, did_you_mean, printable, readable_number
from planner.quarters import parse_quarter
from planner.schema import LARGEST_NUMBER
from planner.text_files import not_a_file, not_utf8, under_another_name

Quarter = Annotated[pd.Period, PlainValidator(parse_quarter)]
Label = Annotated[str, AfterValidator(printable)]  # text the workbook shows: its title, column labels


def _as_list_of_quarters(value):
    """`eu-de/training: 2026Q3` is the one-quarter list it means; anything else that is no list is
    named with what was expected (pydantic's own words are 'a valid tuple')."""
    if isinstance(value, (str, pd.Period)):
        return [value]
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"expected a list of quarters like [2026Q3] (got {value!r})")
    return value


Quarters = Annotated[tuple[Quarter, ...], BeforeValidator(_as_list_of_quarters)]
Probability = Annotated[float, Field(gt=0, lt=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_switch_for_a_number(cls, value, info):
        """YAML reads true, false, yes and no as switches, which pydantic takes as 1 and 0 for a
        number: `horizon_quarters: yes` planned one quarter without a word."""
        if isinstance(value, bool) and _is_number(cls.model_fields[info.field_name].annotation):
            raise ValueError("expected a number; YAML reads true, false, yes and no as switches")
        return value


def _is_number(annotation) -> bool:
    """Whether a field's type is a number (int or float, perhaps optional)."""
    if annotation in (int, float):
        return True
    return isinstance(annotation, UnionType) and any(_is_number(arg) for arg in get_args(annotation))


class CloudSettings(_Strict):
    price_per_unit_quarter: float = Field(ge=0, le=LARGEST_NUMBER, description="Public-cloud price of one compute unit for one quarter (currency).")
    max_units: float | None = Field(None, ge=0, le=LARGEST_NUMBER, description="Cap on cloud units per quarter, all streams together (blank: none).")


class ForecastSettings(_Strict):
    method: str = Field("auto", description="`auto` (per stream, the few best by backtest of "
                        f"{', '.join(FORECAST_CANDIDATES)}, averaged) or one of those or "
                        f"{', '.join(n for n in method_names() if n not in FORECAST_CANDIDATES)} by name.")
    quantiles: tuple[Probability, ...] = Field((0.1, 0.5, 0.9), min_length=1, description="Quantiles to forecast, e.g. [0.1, 0.5, 0.9].")
    scale: Literal[FORECAST_SCALES] = Field("auto", description="Where the models work: `auto` on the log of demand for "
                                            "streams positive in every quarter (growth compounds), in demand's units "
                                            "otherwise; `log` for every stream (each must stay above zero); `units` for "
                                            "none (streams that grow by a steady amount a quarter).")
    scale_by_stream: dict[str, Literal[FORECAST_SCALES]] = Field(
        default_factory=dict, description="Per stream, a scale that overrides `scale`, as `region/workload: units` "
                                          "lines (e.g. `eu-de/training: units`).")
    one_off_quarters: dict[str, Quarters] = Field(
        default_factory=dict, description="Per stream, history quarters the models take at the level of the quarters "
                                          "either side (a double count, a burst that ended; demand_history.csv keeps "
                                          "the actual; a typo is fixed there instead), as "
                                          "`region/workload: [quarters]` lines (e.g. "
                                          "`eu-de/training: [2026Q2, 2026Q3]`; one quarter may go "
                                          "without brackets); not a stream's first quarter; quarters at the end "
                                          "take the stream's usual growth from the quarter before them.")
    history_start: dict[str, Quarter] = Field(
        default_factory=dict, description="Per stream, the quarter the models read its history from (after a break: a "
                                          "customer left, a workload moved; demand_history.csv keeps the earlier "
                                          "quarters), as `region/workload: quarter` lines (e.g. `eu-de/training: "
                                          "2025Q3`); at least 3 quarters must remain.")

    @field_validator("method")
    @classmethod
    def _known_method(cls, value: str) -> str:
        """Caught here, not at forecast time, where it was reported against demand_history.csv
        after `planner validate` had passed the scenario."""
        names = ["auto", *method_names()]
        if value not in names:
            raise ValueError(f"unknown forecast method{did_you_mean(value, names)}; use one of {', '.join(names)}")
        return value

    @field_validator("one_off_quarters")
    @classmethod
    def _each_quarter_once_in_order(cls, value: dict[str, tuple[pd.Period, ...]]) -> dict[str, tuple[pd.Period, ...]]:
        """A quarter named twice is modelled once, and the why names it once, in history order."""
        return {stream: tuple(sorted(set(quarters))) for stream, quarters in value.items()}

    def scale_of(self, region: str, workload: str) -> str:
        """The scale this stream is forecast on: its own line in scale_by_stream, else `scale`."""
        return self.scale_by_stream.get(f"{region}/{workload}", self.scale)

    def one_offs_of(self, region: str, workload: str) -> tuple[pd.Period, ...]:
        """This stream's one_off_quarters line, or none."""
        return self.one_off_quarters.get(f"{region}/{workload}", ())

    def history_start_of(self, region: str, workload: str) -> pd.Period | None:
        """This stream's history_start line, or None (the models read its whole history)."""
        return self.history_start.get(f"{region}/{workload}")

    @field_validator("quantiles")
    @classmethod
    def _sorted_unique(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if len(set(value)) != len(value):
            raise ValueError("quantiles must not repeat")
        return tuple(sorted(value))


class SolverSettings(_Strict):
    name: str = Field("highs", description="Solver name; HiGHS (through highspy) is the default.")
    time_limit_s: float = Field(300.0, gt=0, description="Wall-clock limit for the solve (seconds). HiGHS always gets at least 1 s after the "
                                "warm start, so a shorter limit runs about a second; a re-plan's steady pass may "
                                "add a quarter of it.")
    mip_gap: float = Field(0.005, ge=0, lt=1, description="Relative optimality gap at which the solve stops (0.005 = 0.5%, about one rack on a $1B plan), as a share of the plan's NPV without its unmet-demand penalty.")
    threads: int = Field(1, ge=1, description="Solver threads; plans are reproducible for the same count.")
    steady_within: float | None = Field(None, ge=0, lt=1, description="Re-forecast: share of the cheapest plan's spend (NPV without its unmet-demand penalty) the re-plan may add to keep the previous plan's orders (0.002 = 0.2%; 0: no dearer than the cheapest plan found); blank: as much as keeps the plan within `mip_gap` of the best possible.")


class ScenarioSettings(_Strict):
    name: Label = Field(min_length=1, description="Scenario name.")
    start: Quarter = Field(description="First quarter in which new orders may be placed, e.g. 2027Q1.")
    horizon_quarters: int = Field(ge=1, le=80, description="Quarters planned, from `start`.")
    discount_rate: float = Field(ge=0, lt=1, description="Annual discount rate, e.g. 0.08.")
    currency: Label = Field("USD", description="Currency of every money column, though their names say usd (a public interface); the workbook's labels and the terminal name this one.")
    compute_unit: Label = Field("GB200-equivalent accelerators", description="What one unit of demand is.")
    planning_quantile: Probability = Field(0.5, description="Demand quantile the plan must cover, in (0, 1).")
    utilization: float = Field(0.85, gt=0, le=1, description="Share of a rack's capacity usable for demand.")
    unmet_penalty_per_unit_quarter: float = Field(gt=0, le=LARGEST_NUMBER, description="Cost of one unit of demand left unserved for a quarter.")
    cloud: CloudSettings = Field(description="Public-cloud burst prices and cap.")
    forecast: ForecastSettings = Field(default_factory=ForecastSettings, description="Forecast settings.")
    solver: SolverSettings = Field(default_factory=SolverSettings, description="Solver settings.")
    budget_usd_per_year: float | None = Field(None, gt=0, le=LARGEST_NUMBER, description="Cap on capex paid per calendar year (blank: none).")
    frozen_quarters: int = Field(1, ge=0, description="Quarters after `start` whose orders re-forecast keeps as placed.")

    @model_validator(mode="after")
    def _frozen_inside_horizon(self) -> "ScenarioSettings":
        if self.frozen_quarters > self.horizon_quarters:
            raise ValueError("frozen_quarters must not exceed horizon_quarters")
        return self

    @property
    def quarters(self) -> pd.PeriodIndex:
        """Every quarter of the horizon, `start` first."""
        return pd.period_range(self.start, periods=self.horizon_quarters, freq="Q")


FILE = "scenario.yaml"


def load_settings(path: Path) -> tuple[ScenarioSettings | None, list[Problem]]:
    """Read scenario.yaml with a safe loader; return the settings or the problems found."""
    if not path.is_file():
        unreadable = not_a_file(path, FILE)
        if unreadable:
            return None, [unreadable]
        misnamed = under_another_name(path.parent, FILE, (".yml", ".txt"))
        if misnamed:
            return None, [misnamed]
        return None, [Problem(FILE, None, None, f"file not found in {path.parent}")]
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:  # an editor's other encoding: it stopped the run as an internal error
        return None, [not_utf8(path, FILE, "save it as UTF-8 (in the editor: Save As, encoding UTF-8)")]
    try:
        data = yaml.safe_load(text)
        lines = _key_lines(yaml.compose(text))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        return None, [Problem(FILE, mark.line + 1 if mark else None, None, f"not valid YAML: {getattr(error, 'problem', error)}")]
    if not isinstance(data, dict):
        return None, [Problem(FILE, None, None, "expected a mapping of keys to values at the top level")]
    try:
        return ScenarioSettings.model_validate(data), []
    except ValidationError as error:
        details = error.errors()
        # a list whose every value failed is also 'too short' after validation: its values' problems say why
        return None, [_problem(detail, lines) for detail in details
                      if not (detail["type"] == "too_short" and any(len(other["loc"]) > len(detail["loc"])
                                                                    and other["loc"][:len(detail["loc"])] == detail["loc"]
                                                                    for other in details))]


def _problem(detail: dict, lines: dict[str, int]) -> Problem:
    key = ".".join(str(part) for part in detail["loc"])
    line = lines.get(key) or lines.get(key.rsplit(".", 1)[0])
    message = _in_planner_words(detail)
    if detail["type"] == "missing":
        message = "required key is missing"
    elif detail["type"] == "extra_forbidden":
        message = "unknown key" + (did_you_mean(detail["loc"][-1], _known_keys(detail["loc"][:-1]))
                                   or " (check its spelling against the README)")
    elif detail["type"] in ("dict_type", "model_type"):  # pydantic's 'a valid dictionary or instance of ...'
        example = STREAM_LINE_EXAMPLES.get(str(detail["loc"][-1]))
        message = ((f"expected one line per stream under it, as region/workload: value (e.g. `{example}`)" if example
                    else "expected its keys on lines of their own under it, indented")
                   + f" (got {_as_written(detail['input'])})")
    elif "input" in detail and not isinstance(detail["input"], dict):
        message = f"{message} (got {_as_written(detail['input'])})"
    elif detail["type"] in EXPECTED:  # a value expected, keys found under it (a rule on the whole section has none)
        message += " (got keys under it)"
    return Problem(FILE, line, key or None, message)


EXPECTED = {  # pydantic's error types, in the words the CSV checks use ('Input should be a valid tuple' was shown)
    "int_type": "expected a whole number", "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number", "float_type": "expected a number", "float_parsing": "expected a number",
    "finite_number": "expected a finite number", "string_type": "expected text", "bool_type": "expected true or false",
    "bool_parsing": "expected true or false", "tuple_type": "expected a list in brackets, e.g. [0.1, 0.5, 0.9]",
    "list_type": "expected a list in brackets", "greater_than": "expected a number > {gt}",
    "greater_than_equal": "expected a number >= {ge}", "less_than": "expected a number < {lt}",
    "less_than_equal": "expected a number <= {le}", "too_short": "expected at least {min_length} value in it",
    "string_too_short": "expected text, not nothing",
}


def _in_planner_words(detail: dict) -> str:
    """A pydantic error as the rest of the planner words it: 'expected a whole number', not
    'Input should be a valid integer, unable to parse string as an integer'."""
    words = EXPECTED.get(detail["type"])
    if words is None:
        return detail["msg"].removeprefix("Value error, ").replace("Input should be ", "expected ", 1)
    bounds = {name: readable_number(value) if isinstance(value, (int, float)) else value
              for name, value in detail.get("ctx", {}).items()}
    return words.format(**bounds)


STREAM_LINE_EXAMPLES = {  # the per-stream keys of `forecast`, as the README writes their lines
    "scale_by_stream": "eu-de/training: units",
    "one_off_quarters": "eu-de/training: [2026Q2, 2026Q3]",
    "history_start": "eu-de/training: 2025Q3",
}


def _known_keys(section: tuple) -> list[str]:
    """The keys allowed where an unknown one was found (top level, cloud, forecast or solver)."""
    model = ScenarioSettings
    for part in section:
        model = model.model_fields[part].annotation if part in model.model_fields else None
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
    return list(model.model_fields)


def _as_written(value: object) -> str:
    """A value as the YAML author wrote it: 2027-01-01, not datetime.date(2027, 1, 1); text quoted."""
    if isinstance(value, str):
        return repr(value)
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _key_lines(node: yaml.Node | None, prefix: str = "") -> dict[str, int]:
    """Map dotted keys (and list items `key.0`) to their 1-based line in the YAML text."""
    found: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = f"{prefix}{key_node.value}"
            found[key] = key_node.start_mark.line + 1
            found.update(_key_lines(value_node, key + "."))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            found[f"{prefix}{index}"] = item.start_mark.line + 1
    return found
