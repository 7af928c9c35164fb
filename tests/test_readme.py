"""The README's format reference and first commands cannot drift from the code."""

from __future__ import annotations

import re
from pathlib import Path

from planner.reference import BEGIN, END, format_reference
from planner.schema import TABLES

README = Path(__file__).resolve().parent.parent / "README.md"


def test_format_reference_in_readme_matches_schema():
    text = README.read_text()
    assert BEGIN in text and END in text, "README lost its format-reference markers"
    embedded = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert embedded == format_reference().strip(), (
        "README format reference is out of date: run `python -m planner.reference`")


def test_every_scenario_md_column_is_in_the_schema():
    """SCENARIO.md is the public interface: every file and column it names must be parsed."""
    required = {
        "racks": "rack_type vendor accelerators_per_rack kw_per_rack liquid_cooled price_usd opex_usd_per_quarter "
                 "lead_time_quarters first_order_quarter last_order_quarter lifetime_quarters",
        "rack_capacity": "rack_type workload units_per_rack",
        "sites": "site region power_mw pue max_racks liquid_cooling energy_usd_per_kwh",
        "site_power": "site quarter power_mw",
        "power_expansions": "site block_mw capex_usd lead_time_quarters max_blocks",
        "factories": "factory site operating_model status rack_types min_accelerators commitment_usd "
                     "commitment_start commitment_quarters setup_lead_time_quarters fixed_cost_usd",
        "demand_history": "quarter region workload demand",
        "demand_overrides": "quarter region workload delta",
        "residency": "region workload serving_regions cloud_allowed",
        "fleet": "factory rack_type racks online_quarter",
        "orders": "order_quarter factory rack_type racks",
        "supply": "rack_type quarter max_racks",
    }
    tables = {table.name: {c.name for c in table.columns} for table in TABLES}
    for name, columns in required.items():
        assert set(columns.split()) <= tables[name], name


def test_readme_starts_with_the_two_commands():
    """The first lines carry the install-and-run command and the test command, as CI runs them."""
    head = "\n".join(README.read_text().splitlines()[:25])
    assert "pip install -e '.[test]'" in head
    assert "examples/sovereign-eu" in head
    assert "python -m pytest" in head
    ci = (README.parent / ".ci" / "run").read_text()
    assert "python -m pytest -q" in ci and "-e '.[test]'" in ci


def test_every_link_within_the_readme_leads_to_one_of_its_headings():
    """The contents list links to sections by GitHub's anchors (a heading lower-cased, its
    punctuation dropped, spaces as hyphens): a renamed heading left a dead link."""
    text = README.read_text()
    prose = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)  # a '# comment' in a code block is no heading
    anchors = {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
               for heading in re.findall(r"^#{1,6} (.+)$", prose, flags=re.M)}
    links = re.findall(r"\]\(#([^)]+)\)", text)
    assert len(links) >= 9
    assert [link for link in links if link not in anchors] == []
