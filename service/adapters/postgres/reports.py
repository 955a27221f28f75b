"""Read side of the reports: parameterised queries over the `reporting` views.

Filters are whitelisted per report and always bound as parameters. Every view is filtered on
(period_type, period) first so that PostgreSQL only reads that period's months (see the
comment at the top of migration 0021).

Access by locality is enforced here, for every read: each function takes the reader's `Scope`
(the roots of the locality subtrees its token is limited to; none = the nation). A named
locality outside them raises `OutOfScope` (the API answers 403), and every query keeps only
rows inside them, so no answer (rows, totals, counts) says anything about other areas.

The SQL text lives in `sql/reports/*.sql` (sql_files.py); the whitelisted filters, column lists
and sort orders are composed into it with psycopg.sql. Which reports there are, their columns
and their filters are the catalog's (domain/reporting.py); each report's view, conditions and
order are added here (`QUERIES`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from ...domain.access import Scope
from ...domain.aggregation import TABLE_VALUES
from ...domain.reporting import (LEVELS, LOCALITY_COLUMNS, PERIOD_COLUMNS, PLACE, REPORT_CATALOG, TREND_FLOWS, Page,
                                 ReportShape)
from ...domain.suppression import SUPPRESSED, Cells, suppress
from .locality_scope import check_in_scope, in_scope, scope_condition, scope_localities
from .sql_files import composed, text

LEVEL_ORDER = "CASE level " + " ".join(f"WHEN '{level}' THEN {rank}" for rank, level in enumerate(LEVELS)) + " END"

# How each query parameter filters (one %s); a report names its own where its column differs.
CONDITIONS = {
    "locality": "locality_code = %s",
    "parent": "locality_code IN (SELECT code FROM localities WHERE parent_code = %s)",
    "within": "locality_code IN (SELECT descendant_code FROM locality_closure WHERE ancestor_code = %s)",
    "level": "level = %s",
    "scheme": "scheme = %s",
    "measure": "measure = %s",
    "campaign": "campaign = %s",
    "channel": "channel = %s",
    "agent": "agent_id = %s",
    "reason": "reason = %s",
    "year": "year = %s",
    "subject": "subject = %s",
    "basis": "basis = %s",
    "flagged": "(flag IS NOT NULL) = %s",
}


@dataclass(frozen=True)
class ReportQuery:
    """A report of the catalog (domain/reporting.py) and how it is read."""

    shape: ReportShape
    view: str
    order: tuple[str, ...]
    conditions: dict[str, str] = field(default_factory=dict)  # parameter -> its condition here, if not CONDITIONS'
    group_by: tuple[str, ...] = ()  # set: the view is aggregated to these columns + sums
    sums: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return self.shape.columns

    @property
    def periodic(self) -> bool:
        return self.shape.periodic

    @property
    def cells(self) -> Cells | None:
        return self.shape.cells

    @property
    def filters(self) -> dict[str, str]:
        """Query parameter -> SQL condition with one %s."""
        return {name: self.conditions.get(name, CONDITIONS[name]) for name in self.shape.filters}


def _by_period(view: str, order: tuple[str, ...] = ("scheme",), **kw: Any) -> dict[str, Any]:
    return {"view": view, "order": (LEVEL_ORDER, "locality_code", *order), **kw}


_BY_SEX_AGE = "reporting.active_by_sex_age"
_READ = {
    "coverage": _by_period("reporting.coverage", ("scheme", "denominator_measure"),
                           conditions={"measure": "denominator_measure = %s"}),
    "flows": _by_period("reporting.flows"),
    "growth": _by_period("reporting.growth"),
    "withdrawals": _by_period("reporting.withdrawals"),
    "outreach": _by_period("reporting.outreach", ("campaign",)),
    "breakdown:channel": _by_period("reporting.flows_by_channel", ("scheme", "channel")),
    "breakdown:agent": _by_period("reporting.flows_by_agent", ("scheme", "channel", "agent_id")),
    "breakdown:sex": _by_period(_BY_SEX_AGE, ("scheme", "sex"),
                                group_by=PERIOD_COLUMNS + PLACE + ("scheme", "sex"), sums=("active",)),
    "breakdown:age_band": _by_period(_BY_SEX_AGE, ("scheme", "age_band"),
                                     group_by=PERIOD_COLUMNS + PLACE + ("scheme", "age_band"), sums=("active",)),
    "breakdown:sex_age_band": _by_period(_BY_SEX_AGE, ("scheme", "sex", "age_band")),
    "retractions": _by_period("reporting.retractions", ("channel", "agent_id", "reason")),
    "plan": {"view": "reporting.plan_attainment", "order": ("year", LEVEL_ORDER, "locality_code", "subject", "basis")},
    "denominators": {"view": "reporting.denominators", "order": ("year", LEVEL_ORDER, "locality_code", "measure")},
    "targets": {"view": "reporting.targets", "order": ("year", LEVEL_ORDER, "locality_code", "subject", "basis")},
}
QUERIES: dict[str, ReportQuery] = {name: ReportQuery(shape, **_READ[name]) for name, shape in REPORT_CATALOG.items()}


def latest_month(conn: psycopg.Connection, scope: Scope) -> date | None:
    """The last month with a non-zero stock change or flow within `scope`: the default period
    of the reports (rows that a re-derivation netted to zero are left behind depending on
    arrival order). A reader of one province gets its latest month, not the nation's."""
    any_flow = sql.SQL(" OR ").join(sql.SQL("{} <> 0").format(sql.Identifier("f", c)) for c in TABLE_VALUES["agg_flows"])
    active: sql.Composable = sql.SQL("true")
    flows: sql.Composable = sql.SQL("true")
    params: list[list[str]] = []
    if not scope.nation:
        active, flows, params = in_scope("a.locality_code"), in_scope("f.locality_code"), [sorted(scope.roots)] * 2
    row = conn.execute(composed("reports", "latest_month", any_flow=any_flow, active_in_scope=active,
                                flows_in_scope=flows), params).fetchone()
    return row[0] if row else None


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
    spec = QUERIES[report]
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
    where: list[sql.Composable] = [sql.SQL(CONDITIONS[k]) for k in named]
    params: list[Any] = list(named.values())
    if not scope.nation:
        where.append(in_scope("locality_code"))
        params.append(sorted(scope.roots))
    if filters.get("level") is not None:
        where.append(sql.SQL(CONDITIONS["level"]))
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

    def latest_month(self, scope: Scope) -> date | None:
        return latest_month(self.conn, scope)

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

    def scope_localities(self, scope: Scope) -> list[dict[str, Any]]:
        return scope_localities(self.conn, scope)
