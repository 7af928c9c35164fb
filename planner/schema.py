"""The scenario's table schema: one declaration per file and column.

This single declaration drives CSV parsing, row validation (through pydantic models
generated from it), the README's format reference (`planner schema`) and, later, the
headers of exported sheets. Change a column here and every one of those follows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from planner.problems import readable_number

_REQUIRED = object()

# Ceilings on a column's magnitude where it declares none. Beyond them the model's products
# overflow (a 20-digit whole number stopped validation with an OverflowError), the solver loses
# precision (a price of 1e300 made the NPV infinite) or the model's index sets grow without
# end (a lifetime of 10^15 quarters ran for minutes), and no real scenario comes near them.
LARGEST_QUARTERS = 400  # a span in quarters: a century
LARGEST_COUNT = 1_000_000_000  # racks, positions, blocks, accelerators
LARGEST_NUMBER = 1e12  # money, power, demand: a trillion


@dataclass(frozen=True)
class Column:
    """One CSV column.

    kind: text | choice | int | number | bool | quarter | list.
    A column with a default may be left out of the file or left blank; one without must
    be present and filled. `nullable` columns may be blank and then mean "none".
    """

    name: str
    kind: str
    description: str
    unit: str = ""
    default: object = _REQUIRED
    nullable: bool = False
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    choices: tuple[str, ...] = ()

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED and not self.nullable

    def bounds(self) -> dict[str, float]:
        """The bounds a value must meet: those declared, and a ceiling (a floor too, for a column
        that may be negative) on its magnitude where none is declared."""
        found = {name: getattr(self, name) for name in ("ge", "gt", "le", "lt") if getattr(self, name) is not None}
        if self.kind not in ("int", "number"):
            return found
        largest = (LARGEST_NUMBER if self.kind == "number"
                   else LARGEST_QUARTERS if self.unit == "quarters" else LARGEST_COUNT)
        if "le" not in found and "lt" not in found:
            found["le"] = largest
        if "ge" not in found and "gt" not in found:
            found["ge"] = -largest
        return found

    def expected(self) -> str:
        """What a valid value looks like, in words a planner reads."""
        base = {
            "text": "text",
            "choice": "one of " + ", ".join(self.choices),
            "int": "a whole number",
            "number": "a number",
            "bool": "true or false",
            "quarter": "a quarter like 2027Q1",
            "list": "names separated by ';'",
        }[self.kind]
        limits = self.bounds()
        signs = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
        bounds = [f"{sign} {readable_number(limits[name])}" for name, sign in signs.items() if name in limits]
        text = base + (" " + " and ".join(bounds) if bounds else "")
        return text + (f" ({self.unit})" if self.unit else "")

    def default_text(self) -> str:
        if self.default is _REQUIRED:
            return "blank: none" if self.nullable else "required"
        if isinstance(self.default, bool):
            return str(self.default).lower()
        return "blank" if self.default in ("", ()) else str(self.default)


@dataclass(frozen=True)
class Table:
    """One CSV file of the scenario directory."""

    file: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    optional: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def name(self) -> str:
        return self.file.removesuffix(".csv")

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _text(name, description, **kw):
    return Column(name, "text", description, **kw)


def _int(name, description, unit="", ge=0, **kw):
    return Column(name, "int", description, unit=unit, ge=ge, **kw)


def _num(name, description, unit="", ge=0, **kw):
    return Column(name, "number", description, unit=unit, ge=ge, **kw)


def _quarter(name, description, **kw):
    return Column(name, "quarter", description, **kw)


TABLES: tuple[Table, ...] = (
    Table(
        "racks.csv",
        "Purchasable rack types.",
        (
            _text("rack_type", "Rack type name, e.g. gb300-nvl72."),
            _text("vendor", "Vendor, e.g. NVIDIA or AWS."),
            _int("accelerators_per_rack", "Accelerators (GPUs or chips) in one rack.", "accelerators", ge=1),
            _num("kw_per_rack", "IT power drawn by one rack.", "kW", ge=None, gt=0),
            Column("liquid_cooled", "bool", "Whether the rack needs liquid cooling."),
            _num("price_usd", "Purchase price of one rack, paid in the order quarter.", "USD"),
            _num("opex_usd_per_quarter", "Non-energy operating cost of one online rack per quarter.", "USD/quarter"),
            _int("lead_time_quarters", "Quarters from order to online.", "quarters"),
            _quarter("first_order_quarter", "First quarter in which the type can be ordered."),
            _quarter("last_order_quarter", "Last quarter in which it can be ordered.", nullable=True),
            _int("lifetime_quarters", "Quarters a rack stays in service once online.", "quarters", ge=1),
            _int("rack_positions", "Rack positions one unit occupies (a Trainium3 UltraServer takes 2).",
                 "positions", ge=1, default=1),
        ),
        key=("rack_type",),
    ),
    Table(
        "rack_capacity.csv",
        "Compute each rack type delivers per workload, in the scenario's compute unit.",
        (
            _text("rack_type", "A rack type from racks.csv."),
            _text("workload", "Workload name, e.g. training or inference."),
            _num("units_per_rack", "Compute units one rack delivers to this workload.", "compute units"),
        ),
        key=("rack_type", "workload"),
        notes=("A rack type with no row for a workload cannot serve that workload.",),
    ),
    Table(
        "sites.csv",
        "Physical data centres.",
        (
            _text("site", "Site name."),
            _text("region", "Region (jurisdiction) the site is in, e.g. eu-de."),
            _num("power_mw", "Facility power available at `start`.", "MW"),
            _num("pue", "Power usage effectiveness: facility power / IT power.", ge=1, le=3),
            _int("max_racks", "Rack positions at the site.", "positions"),
            Column("liquid_cooling", "bool", "Whether the site can cool liquid-cooled racks."),
            _num("energy_usd_per_kwh", "Electricity price.", "USD/kWh"),
        ),
        key=("site",),
    ),
    Table(
        "site_power.csv",
        "Scheduled changes to a site's facility power (grid connections already contracted).",
        (
            _text("site", "A site from sites.csv."),
            _quarter("quarter", "Quarter from which the new figure applies."),
            _num("power_mw", "Facility power from that quarter on.", "MW"),
        ),
        key=("site", "quarter"),
        optional=True,
        notes=("Without this file a site keeps `power_mw` from sites.csv for the whole horizon.",),
    ),
    Table(
        "power_expansions.csv",
        "Power blocks the plan may order for a site.",
        (
            _text("site", "A site from sites.csv."),
            _num("block_mw", "Facility power one block adds.", "MW", ge=None, gt=0),
            _num("capex_usd", "Cost of one block, paid when ordered.", "USD"),
            _int("lead_time_quarters", "Quarters from order to usable power.", "quarters"),
            _int("max_blocks", "Blocks that can be ordered over the horizon.", "blocks"),
        ),
        key=("site",),
        optional=True,
        notes=("Without this file no site can add power beyond site_power.csv.",),
    ),
    Table(
        "factories.csv",
        "Deployments hosted at sites, existing or candidates the plan may open.",
        (
            _text("factory", "Factory name."),
            _text("site", "A site from sites.csv."),
            Column("operating_model", "choice", "Who operates it.", choices=("managed", "diy")),
            Column("status", "choice", "Existing factories are open; candidates open only if the plan says so.",
                   choices=("existing", "candidate")),
            Column("rack_types", "list", "Rack types allowed here.", default=()),
            _int("min_accelerators", "Minimum accelerators online once open (from its first possible quarter).",
                 "accelerators", default=0),
            _num("commitment_usd", "Minimum spend with the operator over the commitment window (take-or-pay).",
                 "USD", default=0.0),
            _quarter("commitment_start", "First quarter of the commitment window.", nullable=True),
            _int("commitment_quarters", "Length of the commitment window.", "quarters", default=0),
            _int("setup_lead_time_quarters", "Quarters from `start` before the factory's first new rack can be online.",
                 "quarters", default=0),
            _num("fixed_cost_usd", "One-off cost of opening a candidate factory, paid in the start quarter.",
                 "USD", default=0.0),
        ),
        key=("factory",),
        notes=(
            "`rack_types` blank means every rack type the site can cool.",
            "`commitment_start` blank means `start` of the scenario.",
        ),
    ),
    Table(
        "demand_history.csv",
        "Actual demand per region, workload and quarter, up to the quarter before `start`.",
        (
            _quarter("quarter", "Quarter."),
            _text("region", "Region whose demand this is."),
            _text("workload", "Workload."),
            _num("demand", "Demand in the scenario's compute unit.", "compute units"),
        ),
        key=("quarter", "region", "workload"),
        notes=("Each stream (region, workload) needs consecutive quarters ending the quarter before `start`.",),
    ),
    Table(
        "demand_overrides.csv",
        "Known deals added on top of the forecast.",
        (
            _quarter("quarter", "Quarter."),
            _text("region", "Region."),
            _text("workload", "Workload."),
            _num("delta", "Demand added (negative: removed) after forecasting.", "compute units", ge=None),
        ),
        key=("quarter", "region", "workload"),
        optional=True,
        notes=("Forecast plus delta is floored at zero; where a delta removes more than the forecast at the planning "
               "quantile, `plan`, `forecast` and `reforecast` warn, naming its row (a digit too many looks just the same).",
               "A row before `start` or after the last planned quarter is not planned: `validate`, `plan` and the rest "
               "warn, naming the first such row each side (a deal typed in the wrong year looks just the same). A "
               "re-forecast leaves the rows of the quarter just ended out of the rolled scenario: its actuals stand "
               "for them.",
               "A delta that takes demand past 10^12 units is an error naming its row."),
    ),
    Table(
        "residency.csv",
        "Where each stream may be served.",
        (
            _text("region", "Region whose demand the rule is for."),
            _text("workload", "Workload."),
            Column("serving_regions", "list", "Regions whose sites may serve it (the full list).", default=()),
            Column("cloud_allowed", "bool", "Whether public cloud may serve it.", default=True),
        ),
        key=("region", "workload"),
        optional=True,
        notes=("A stream with no row is served from its own region only, and may use cloud; "
               "a blank `serving_regions` also means its own region only.",),
    ),
    Table(
        "fleet.csv",
        "Racks already installed before `start`.",
        (
            _text("factory", "A factory from factories.csv."),
            _text("rack_type", "A rack type from racks.csv."),
            _int("racks", "Racks installed.", "racks"),
            _quarter("online_quarter", "Quarter they came online (at or before `start`)."),
        ),
        key=("factory", "rack_type", "online_quarter"),
        optional=True,
    ),
    Table(
        "orders.csv",
        "Orders already placed: fixed in every plan.",
        (
            _quarter("order_quarter", "Quarter the order was placed."),
            _text("factory", "A factory from factories.csv."),
            _text("rack_type", "A rack type from racks.csv."),
            _int("racks", "Racks ordered (a cancelled order's row is deleted, not set to 0).", "racks", ge=1),
        ),
        key=("order_quarter", "factory", "rack_type"),
        optional=True,
        notes=("Racks come online at `order_quarter` + the rack type's `lead_time_quarters`.",),
    ),
    Table(
        "supply.csv",
        "Caps on orders per rack type and quarter.",
        (
            _text("rack_type", "A rack type from racks.csv."),
            _quarter("quarter", "Order quarter."),
            _int("max_racks", "Racks of this type that can be ordered in that quarter.", "racks"),
        ),
        key=("rack_type", "quarter"),
        optional=True,
        notes=("A rack type and quarter with no row has no cap.",
               "The cap counts the orders already placed (orders.csv) too: one below them is an error naming both rows."),
    ),
)

TABLES_BY_NAME: dict[str, Table] = {table.name: table for table in TABLES}
