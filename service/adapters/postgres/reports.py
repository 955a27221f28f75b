"""Read side of the reports: parameterised queries over the `reporting` views.

Filters are whitelisted per report and always bound as parameters. Every view is filtered on
(period_type, period) first so that PostgreSQL only reads that period's months (see the
comment at the top of migration 0021).

Access by locality is enforced here, for every read: each function takes the reader's `Scope`
(the roots of the locality subtrees its token is limited to; none = the nation). A named
locality outside them raises `OutOfScope` (the API answers 403), and every query keeps only
rows inside them, so no answer (rows, totals, counts) says anything about other areas.

The SQL text lives in `sql/reports/*.sql` (sql_files.py); the whitelisted filters, column lists
and sort orders below are composed into it with psycopg.sql.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from ...domain.aggregation import FLOWS, PEOPLE_FLOWS, TABLE_VALUES
from ...domain.reporting import LEVELS
from ...domain.suppression import SUPPRESSED, Cells, suppress
from .locality_scope import Scope, check_in_scope, in_scope, scope_condition
from .rows import one_row
from .sql_files import composed, text

LEVEL_ORDER = "CASE level " + " ".join(f"WHEN '{level}' THEN {rank}" for rank, level in enumerate(LEVELS)) + " END"

# Query parameters every period report accepts -> how they filter.
LOCALITY_FILTERS = {
    "locality": "locality_code = %s",
    "parent": "locality_code IN (SELECT code FROM localities WHERE parent_code = %s)",
    "within": "locality_code IN (SELECT descendant_code FROM locality_closure WHERE ancestor_code = %s)",
    "level": "level = %s",
}


@dataclass(frozen=True)
class Report:
    view: str
    columns: tuple[str, ...]
    filters: dict[str, str]  # query parameter -> SQL condition with one %s
    order: tuple[str, ...]
    periodic: bool = True
    group_by: tuple[str, ...] = ()  # set: the view is aggregated to these columns + sums
    sums: tuple[str, ...] = ()
    cells: Cells | None = None  # set: a breakdown that can single out a person (small cells withheld)


PERIOD_COLUMNS = ("period_type", "period", "period_start", "period_end")
PLACE = ("locality_code", "locality_name", "level")


def _periodic(view: str, columns: tuple[str, ...], extra_filters: dict[str, str] | None = None,
              order: tuple[str, ...] = ("scheme",), scheme: bool = True, **kw: Any) -> Report:
    filters = dict(LOCALITY_FILTERS)
    if scheme:
        filters["scheme"] = "scheme = %s"
    filters.update(extra_filters or {})
    return Report(view, PERIOD_COLUMNS + PLACE + columns, filters, (LEVEL_ORDER, "locality_code", *order), **kw)


# Breakdowns that can single out a person: their cells of people (and money) under a minimum
# cell size are withheld (domain/suppression.py). Other reports are totals per locality.
_PAID = {"contribution_vnd": ("new_participants", "reactivations", "renewals")}  # registered or renewed
_PERIOD_KEY = ("period_type", "period")


def _cells(*keys: str, counts: tuple[str, ...] = PEOPLE_FLOWS, money: dict | None = None) -> Cells:
    return Cells(keys=_PERIOD_KEY + keys, counts=counts, money=_PAID if money is None else money)


REPORTS: dict[str, Report] = {
    "coverage": _periodic(
        "reporting.coverage",
        ("scheme", "active", "denominator_measure", "denominator", "denominator_flag", "coverage_pct"),
        {"measure": "denominator_measure = %s"}, ("scheme", "denominator_measure"),
    ),
    "flows": _periodic(
        "reporting.flows",
        ("scheme", *FLOWS),
    ),
    "growth": _periodic(
        "reporting.growth",
        ("scheme", "active", "active_previous_period", "active_change_vs_previous_period_pct",
         "active_same_period_last_year", "active_change_vs_last_year_pct",
         "new_participants", "reactivations", "new_participants_previous_period",
         "new_participants_change_vs_previous_period_pct", "new_participants_same_period_last_year",
         "new_participants_change_vs_last_year_pct"),
    ),
    "withdrawals": _periodic(
        "reporting.withdrawals",
        ("scheme", "withdrawals", "withdrawals_previous_period", "change_vs_previous_period",
         "change_vs_previous_period_pct", "withdrawals_same_period_last_year", "change_vs_last_year_pct"),
    ),
    "outreach": _periodic(
        "reporting.outreach",
        ("campaign", "conferences", "conferences_planned", "attendees", "cost_vnd", "enrolments",
         "enrolments_per_conference", "cost_per_enrolment_vnd"),
        {"campaign": "campaign = %s"}, ("campaign",), scheme=False,
    ),
    "breakdown:channel": _periodic(
        "reporting.flows_by_channel",
        ("scheme", "channel", "agents", *PEOPLE_FLOWS, "contribution_vnd"),
        {"channel": "channel = %s"}, ("scheme", "channel"), cells=_cells("channel"),
    ),
    "breakdown:agent": _periodic(
        "reporting.flows_by_agent",
        ("scheme", "channel", "agent_id", *PEOPLE_FLOWS, "contribution_vnd"),
        {"channel": "channel = %s", "agent": "agent_id = %s"}, ("scheme", "channel", "agent_id"),
        cells=_cells("channel", "agent_id"),
    ),
    "breakdown:sex": _periodic(
        "reporting.active_by_sex_age", ("scheme", "sex", "active"), order=("scheme", "sex"),
        group_by=PERIOD_COLUMNS + PLACE + ("scheme", "sex"), sums=("active",),
        cells=_cells("sex", counts=("active",), money={}),
    ),
    "breakdown:age_band": _periodic(
        "reporting.active_by_sex_age", ("scheme", "age_band", "active"), order=("scheme", "age_band"),
        group_by=PERIOD_COLUMNS + PLACE + ("scheme", "age_band"), sums=("active",),
        cells=_cells("age_band", counts=("active",), money={}),
    ),
    "breakdown:sex_age_band": _periodic(
        "reporting.active_by_sex_age", ("scheme", "sex", "age_band", "active"),
        order=("scheme", "sex", "age_band"), cells=_cells("sex", "age_band", counts=("active",), money={}),
    ),
    "retractions": _periodic(
        "reporting.retractions",
        ("channel", "agent_id", "reason", "retractions", "retracted_events", "retracted_conferences",
         "by_supervisor", "refused"),
        {"channel": "channel = %s", "agent": "agent_id = %s", "reason": "reason = %s"},
        ("channel", "agent_id", "reason"), scheme=False,
    ),
    "plan": Report(
        "reporting.plan_attainment",
        ("year", *PLACE, "subject", "basis", "target_count", "target_rate_pct", "denominator_measure",
         "denominator", "denominator_flag", "target_value", "achieved", "achieved_rate_pct", "attainment_pct"),
        {**LOCALITY_FILTERS, "year": "year = %s", "subject": "subject = %s", "basis": "basis = %s"},
        ("year", LEVEL_ORDER, "locality_code", "subject", "basis"),
        periodic=False,
    ),
    "denominators": Report(
        "reporting.denominators",
        (*PLACE, "year", "measure", "value", "source", "children_sum", "children_with_value",
         "parent_value", "flag"),
        {**LOCALITY_FILTERS, "year": "year = %s", "measure": "measure = %s",
         "flagged": "(flag IS NOT NULL) = %s"},
        ("year", LEVEL_ORDER, "locality_code", "measure"),
        periodic=False,
    ),
    "targets": Report(
        "reporting.targets",
        (*PLACE, "year", "subject", "basis", "target_count", "target_rate_pct", "denominator_measure", "source"),
        {**LOCALITY_FILTERS, "year": "year = %s", "subject": "subject = %s"},
        ("year", LEVEL_ORDER, "locality_code", "subject", "basis"),
        periodic=False,
    ),
}


BREAKDOWNS = tuple(name.removeprefix("breakdown:") for name in REPORTS if name.startswith("breakdown:"))


@dataclass
class Page:
    items: list[dict[str, Any]]
    total: int
    columns: tuple[str, ...]
    meta: dict[str, Any] = field(default_factory=dict)


def latest_month(conn: psycopg.Connection) -> date | None:
    """The last month with a non-zero stock change or flow: the default period of the reports
    (rows that a re-derivation netted to zero are left behind depending on arrival order)."""
    any_flow = sql.SQL(" OR ").join(sql.SQL("{} <> 0").format(sql.Identifier(c)) for c in TABLE_VALUES["agg_flows"])
    (month,) = one_row(conn.execute(composed("reports", "latest_month", any_flow=any_flow)))
    return month


def period_exists(conn: psycopg.Connection, period_type: str, period: str) -> bool:
    return conn.execute(text("reports", "period_exists"), (period_type, period)).fetchone() is not None


def fetch(
    conn: psycopg.Connection, report: str, filters: dict[str, Any], *, scope: Scope, limit: int, offset: int,
    min_cell_size: int | None = None,
) -> Page:
    """One page of a report within `scope`. `filters` holds period_type/period (periodic
    reports) and any of the report's whitelisted filters; None values are ignored. With
    `min_cell_size`, a breakdown's small cells are withheld (and listed in each row's
    `suppressed`); the page is the answer they cannot be computed back from."""
    spec = REPORTS[report]
    check_in_scope(conn, scope, {k: filters.get(k) for k in NAMED_PLACES})
    where, params = scope_condition(scope)
    source: sql.Composable = sql.SQL(spec.view)
    if spec.view == "reporting.active_by_sex_age":
        codes = _place_codes(conn, filters, scope)
        if codes is not None:
            source = sql.SQL(text("reports", "by_person_for_localities"))
            params = [codes, filters["period_type"], filters["period"], *params]
    if spec.periodic:
        where.append(sql.SQL("period_type = %s AND period = %s"))
        params += [filters["period_type"], filters["period"]]
    for name, condition in spec.filters.items():
        if filters.get(name) is not None:
            where.append(sql.SQL(condition))
            params.append(filters[name])
    group: sql.Composable
    if spec.group_by:
        select = sql.SQL(", ").join(
            [sql.Identifier(c) for c in spec.group_by]
            + [sql.SQL("sum({c})::bigint AS {c}").format(c=sql.Identifier(c)) for c in spec.sums]
        )
        group = sql.SQL(" GROUP BY ") + sql.SQL(", ").join(sql.Identifier(c) for c in spec.group_by)
    else:
        select = sql.SQL(", ").join(sql.Identifier(c) for c in spec.columns)
        group = sql.SQL("")
    query = composed(
        "reports", "page",
        select=select,
        view=source,
        where=sql.SQL(" AND ").join(where) if where else sql.SQL("true"),
        group=group,
        order=sql.SQL(", ").join(sql.SQL(o) for o in spec.order),
    )
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(query, [*params, limit, offset]).fetchall()
    total = rows[0].pop("total__") if rows else _count(conn, source, where, params, group)
    for row in rows[1:]:
        row.pop("total__")
    page = Page([{c: row[c] for c in spec.columns} for row in rows], total, spec.columns)
    if spec.cells is not None and min_cell_size is not None:
        _withhold_small_cells(conn, page, spec.cells, min_cell_size)
    return page


def _withhold_small_cells(conn: psycopg.Connection, page: Page, cells: Cells, min_cell_size: int) -> None:
    codes = sorted({item["locality_code"] for item in page.items})
    parent_of: dict[str, str | None] = dict(conn.execute(text("reports", "parents"), (codes,)).fetchall())
    members_of: dict[str, list[str]] = dict(conn.execute(text("reports", "scheme_members")).fetchall())
    suppress(page.items, cells, min_cell_size, parent_of=parent_of, members_of=members_of)
    page.columns = page.columns + (SUPPRESSED,)
    page.meta["min_cell_size"] = min_cell_size


def _count(conn, source: sql.Composable, where, params, group) -> int:
    """Total rows when the requested page is past the end (no row carried the window count)."""
    query = composed("reports", "count", view=source,
                     where=sql.SQL(" AND ").join(where) if where else sql.SQL("true"), group=group)
    return conn.execute(query, params).fetchone()[0]


# The by-person stock is large (sex x birth year per commune and month): for a few named
# localities, sql/reports/by_person_for_localities.sql rolls up only their communes' rows.
MAX_NAMED_LOCALITIES = 200
NAMED_PLACES = ("locality", "parent", "within")  # the filters that name a locality


def _place_codes(conn: psycopg.Connection, filters: dict[str, Any], scope: Scope) -> list[str] | None:
    """The localities a locality/parent/within filter (or a limited scope) names, when they are
    few enough for the narrow by-person query; None otherwise."""
    named = {k: filters[k] for k in NAMED_PLACES if filters.get(k) is not None}
    if not named and scope.nation:
        return None
    where: list[sql.Composable] = [sql.SQL(LOCALITY_FILTERS[k]) for k in named]
    params: list[Any] = list(named.values())
    if not scope.nation:
        where.append(in_scope("locality_code"))
        params.append(sorted(scope.roots))
    if filters.get("level") is not None:
        where.append(sql.SQL(LOCALITY_FILTERS["level"]))
        params.append(filters["level"])
    query = composed("reports", "named_localities", where=sql.SQL(" AND ").join(where))
    codes = [c for (c,) in conn.execute(query, [*params, MAX_NAMED_LOCALITIES + 1])]
    return codes if len(codes) <= MAX_NAMED_LOCALITIES else None


# (view, column) of each base-period figure the growth report compares with.
BASE_PERIOD_FIGURES = {"active": ("stock", "active"), "new_participants": ("flows", "new_participants")}


def base_period_figure(
    conn: psycopg.Connection, figure: str, period_type: str, base_period: str, keys: list[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """`figure` (active at the end of, or new participants during, `base_period`) for
    (locality_code, scheme) keys."""
    if not keys:
        return {}
    view, column = BASE_PERIOD_FIGURES[figure]
    query = composed("reports", "base_period_figure", view=sql.Identifier("reporting", view),
                     column=sql.Identifier(column))
    rows = conn.execute(query, ([k[0] for k in keys], [k[1] for k in keys], period_type, base_period)).fetchall()
    return {(loc, scheme): value for loc, scheme, value in rows}


# The month's flows of people but renewals (the trend shows who came and went).
TREND_FLOWS = tuple(c for c in PEOPLE_FLOWS if c != "renewals")
TREND_COLUMNS = ("period", "active", *TREND_FLOWS)


def trend(conn: psycopg.Connection, locality: str, scheme: str, end: date, months: int, *,
          scope: Scope) -> list[dict[str, Any]]:
    """Monthly series ending with `end`: active at each month end (running sum of the stock
    changes of the locality's communes), and the month's flows."""
    check_in_scope(conn, scope, {"locality": locality})
    query = composed(
        "reports", "trend",
        flow_sums=sql.SQL(", ").join(sql.SQL("sum(f.{c}) AS {c}").format(c=sql.Identifier(c)) for c in TREND_FLOWS),
        flow_columns=sql.SQL(", ").join(
            sql.SQL("coalesce(f.{c}, 0)::bigint AS {c}").format(c=sql.Identifier(c)) for c in TREND_FLOWS),
    )
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, {"locality": locality, "scheme": scheme, "end": end, "months": months}).fetchall()


LOCALITY_COLUMNS = ("code", "name", "level", "parent_code", "children")


def localities(conn: psycopg.Connection, *, parent: str | None, code: str | None, level: str | None,
               scope: Scope, limit: int, offset: int) -> Page:
    """Localities for drill-down within `scope`: the children of `parent`, one `code`, or the
    roots (the scope's own roots for a limited reader)."""
    check_in_scope(conn, scope, {"code": code, "parent": parent})
    where: list[sql.Composable] = []
    params: list[Any] = []
    if not scope.nation:
        where.append(in_scope("l.code"))
        params.append(sorted(scope.roots))
    if code is not None:
        where.append(sql.SQL("l.code = %s"))
        params.append(code)
    elif parent is not None:
        where.append(sql.SQL("l.parent_code = %s"))
        params.append(parent)
    elif level is None and scope.nation:
        where.append(sql.SQL("l.parent_code IS NULL"))
    elif level is None:
        where.append(sql.SQL("l.code = ANY(%s::text[])"))
        params.append(sorted(scope.roots))
    if level is not None:
        where.append(sql.SQL("l.level = %s"))
        params.append(level)
    query = composed("reports", "localities", where=sql.SQL(" AND ").join(where))
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(query, [*params, limit, offset]).fetchall()
    total = rows[0]["total__"] if rows else 0
    return Page([{c: r[c] for c in LOCALITY_COLUMNS} for r in rows], total, LOCALITY_COLUMNS)


@dataclass(frozen=True)
class ConnectionReportStore:
    """The report queries on one connection: what service_layer/reporting.py reads through."""

    conn: psycopg.Connection

    def latest_month(self) -> date | None:
        return latest_month(self.conn)

    def period_exists(self, period_type: str, period: str) -> bool:
        return period_exists(self.conn, period_type, period)

    def fetch(self, report: str, filters: dict[str, Any], **kw: Any) -> Page:
        return fetch(self.conn, report, filters, **kw)

    def base_period_figure(self, figure: str, period_type: str, base_period: str,
                           keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
        return base_period_figure(self.conn, figure, period_type, base_period, keys)

    def trend(self, locality: str, scheme: str, end: date, months: int, *, scope: Scope) -> list[dict[str, Any]]:
        return trend(self.conn, locality, scheme, end, months, scope=scope)

    def localities(self, **kw: Any) -> Page:
        return localities(self.conn, **kw)
