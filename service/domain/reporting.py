"""The vocabulary of the reports and of their reference data, defined once, and the report
catalog: each report's columns and the query parameters that filter it. The API's query, body
and answer schemas, the reference loaders' checks, the use cases and the report queries
(adapters/postgres/reports.py adds each report's SQL) derive from these; the database holds the
same values in CHECK constraints, tables and view columns (migrations 0001, 0020), and
tests/reporting/test_one_definition.py holds the two together."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .aggregation import FLOWS, PEOPLE_FLOWS
from .model import Scheme, Sex
from .suppression import Cells
from .timeline import UNKNOWN_SEX

NATION_CODE = "VN"  # the root of the locality tree

# Levels of the locality tree, from the root down (a parent's level is strictly higher).
LEVELS = ("nation", "province", "district", "commune")

# Derived totals the reports show beside the schemes: a total and the schemes it sums
# (the table report_scheme_members).
SCHEME_TOTALS = {
    "BHXH": (Scheme.BHXH_BB, Scheme.BHXH_TN),
    "BHYT": (Scheme.BHYT_HGD, Scheme.BHYT_KHAC),
}
REPORT_SCHEMES = tuple(s.value for s in Scheme) + tuple(SCHEME_TOTALS)

PERIOD_TYPES = ("month", "quarter", "year", "ytd")

# Denominators: what a coverage rate or a rate target is measured against.
MEASURES = ("labour_force", "population", "in_scope_bhxh_bb", "in_scope_bhtn")

# The denominator a scheme's coverage is shown against first (one of its
# report_scheme_denominators): the in-scope population for BHXH_BB and BHTN, the labour force
# for voluntary BHXH, the population for BHYT.
PRIMARY_MEASURE = {
    Scheme.BHXH_BB.value: "in_scope_bhxh_bb", Scheme.BHTN.value: "in_scope_bhtn",
    Scheme.BHXH_TN.value: "labour_force", "BHXH": "labour_force",
    Scheme.BHYT_HGD.value: "population", Scheme.BHYT_KHAC.value: "population", "BHYT": "population",
}

# The sexes of the breakdowns: the participant's, or unknown when no event gave it.
BREAKDOWN_SEXES = tuple(s.value for s in Sex) + (UNKNOWN_SEX,)

# Targets: a scheme or total, or the conferences held; counted over the participants active
# at year end, new in the year, or (conferences) held.
CONFERENCES = "conferences"
SUBJECTS = REPORT_SCHEMES + (CONFERENCES,)
BASES = ("active", "new", "held")


# ---- the report catalog ----

PERIOD_COLUMNS = ("period_type", "period", "period_start", "period_end")
PLACE = ("locality_code", "locality_name", "level")
# Query parameters every report by locality accepts (exactly one locality, the children of
# one, one and all its descendants, a level of the tree).
LOCALITY_FILTERS = ("locality", "parent", "within", "level")


@dataclass(frozen=True)
class ReportShape:
    columns: tuple[str, ...]  # of each item, in order
    filters: tuple[str, ...]  # the query parameters that filter it (beside period_type/period)
    periodic: bool = True  # one period (period_type, period) at a time
    cells: Cells | None = None  # set: a breakdown that can single out a person (small cells withheld)


def _periodic(columns: tuple[str, ...], filters: tuple[str, ...] = (), scheme: bool = True,
              cells: Cells | None = None) -> ReportShape:
    return ReportShape(PERIOD_COLUMNS + PLACE + columns, LOCALITY_FILTERS + ("scheme",) * scheme + filters,
                       cells=cells)


# Breakdowns that can single out a person: their cells of people (and money) under a minimum
# cell size are withheld (domain/suppression.py). Other reports are totals per locality.
_PAID = {"contribution_vnd": ("new_participants", "reactivations", "renewals")}  # registered or renewed
_PERIOD_KEY = ("period_type", "period")


def _cells(*keys: str, counts: tuple[str, ...] = PEOPLE_FLOWS, money: dict | None = None) -> Cells:
    return Cells(keys=_PERIOD_KEY + keys, counts=counts, money=_PAID if money is None else money)


REPORT_CATALOG: dict[str, ReportShape] = {
    "coverage": _periodic(
        ("scheme", "active", "denominator_measure", "denominator", "denominator_flag", "coverage_pct"), ("measure",)),
    "flows": _periodic(("scheme", *FLOWS)),
    "growth": _periodic(
        ("scheme", "active", "active_previous_period", "active_change_vs_previous_period_pct",
         "active_same_period_last_year", "active_change_vs_last_year_pct",
         "new_participants", "reactivations", "new_participants_previous_period",
         "new_participants_change_vs_previous_period_pct", "new_participants_same_period_last_year",
         "new_participants_change_vs_last_year_pct")),
    "withdrawals": _periodic(
        ("scheme", "withdrawals", "withdrawals_previous_period", "change_vs_previous_period",
         "change_vs_previous_period_pct", "withdrawals_same_period_last_year", "change_vs_last_year_pct")),
    "outreach": _periodic(
        ("campaign", "conferences", "conferences_planned", "attendees", "cost_vnd", "enrolments",
         "enrolments_per_conference", "cost_per_enrolment_vnd"), ("campaign",), scheme=False),
    "breakdown:channel": _periodic(
        ("scheme", "channel", "agents", *PEOPLE_FLOWS, "contribution_vnd"), ("channel",), cells=_cells("channel")),
    "breakdown:agent": _periodic(
        ("scheme", "channel", "agent_id", *PEOPLE_FLOWS, "contribution_vnd"), ("channel", "agent"),
        cells=_cells("channel", "agent_id")),
    "breakdown:sex": _periodic(("scheme", "sex", "active"), cells=_cells("sex", counts=("active",), money={})),
    "breakdown:age_band": _periodic(
        ("scheme", "age_band", "active"), cells=_cells("age_band", counts=("active",), money={})),
    "breakdown:sex_age_band": _periodic(
        ("scheme", "sex", "age_band", "active"), cells=_cells("sex", "age_band", counts=("active",), money={})),
    "retractions": _periodic(
        ("channel", "agent_id", "reason", "retractions", "retracted_events", "retracted_conferences",
         "by_supervisor", "refused"), ("channel", "agent", "reason"), scheme=False),
    "plan": ReportShape(
        ("year", *PLACE, "subject", "basis", "target_count", "target_rate_pct", "denominator_measure",
         "denominator", "denominator_flag", "target_value", "achieved", "achieved_rate_pct", "attainment_pct"),
        LOCALITY_FILTERS + ("year", "subject", "basis"), periodic=False),
    "denominators": ReportShape(
        (*PLACE, "year", "measure", "value", "source", "children_sum", "children_with_value",
         "parent_value", "flag"),
        LOCALITY_FILTERS + ("year", "measure", "flagged"), periodic=False),
    "targets": ReportShape(
        (*PLACE, "year", "subject", "basis", "target_count", "target_rate_pct", "denominator_measure", "source"),
        LOCALITY_FILTERS + ("year", "subject"), periodic=False),
}
BREAKDOWNS = tuple(name.removeprefix("breakdown:") for name in REPORT_CATALOG if name.startswith("breakdown:"))

# The monthly trend: the month's flows of people but renewals (it shows who came and went).
TREND_FLOWS = tuple(c for c in PEOPLE_FLOWS if c != "renewals")
TREND_COLUMNS = ("period", "active", *TREND_FLOWS)
# The locality tree for drill-down, and the roots a reader sees.
LOCALITY_COLUMNS = ("code", "name", "level", "parent_code", "children")
SCOPE_COLUMNS = ("code", "name", "level", "parent_code")


@dataclass
class Page:
    """One page of a report's answer."""

    items: list[dict[str, Any]]
    total: int  # rows over all pages
    columns: tuple[str, ...]
    meta: dict[str, Any] = field(default_factory=dict)  # what the answer adds to its filters (min_cell_size)

