"""Every view of the `reporting` schema, read whole: for comparing two databases row for row and
for checking the rule on rows with nothing in them (migration 0040, docs/reporting.md)."""
from __future__ import annotations

import psycopg
from psycopg import sql

# Numeric columns that describe a row rather than count events: its year, an agent count, a
# plan, a denominator. A row whose other numbers are all 0 (or NULL) has nothing in it,
# whatever these say.
DESCRIPTIVE_COLUMNS = frozenset({"year", "agents", "conferences_planned", "denominator"})
NUMBERS = frozenset({"bigint", "integer", "numeric"})


def reporting_views(conn: psycopg.Connection) -> list[str]:
    """The views of schema `reporting`, from the catalog (a new view cannot be forgotten)."""
    return [name for (name,) in conn.execute(
        """SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'reporting' AND c.relkind IN ('v', 'm') ORDER BY c.relname""")]


def _columns(conn: psycopg.Connection, view: str) -> list[tuple[str, str]]:
    return conn.execute(
        """SELECT column_name, data_type FROM information_schema.columns
           WHERE table_schema = 'reporting' AND table_name = %s ORDER BY ordinal_position""", (view,)).fetchall()


def _in_years(names: set[str], years: tuple[int, int] | None) -> sql.Composable:
    if years is None or "year" not in names:
        return sql.SQL("true")
    return sql.SQL("year BETWEEN {} AND {}").format(sql.Literal(years[0]), sql.Literal(years[1]))


def snapshot(url: str, years: tuple[int, int] | None = None) -> dict[str, list[tuple]]:
    """Every row of every reporting view (all period types, every locality), sorted; with
    `years`, only the rows of those years (for views with a year)."""
    out = {}
    with psycopg.connect(url) as conn:
        for view in reporting_views(conn):
            columns = _columns(conn, view)
            order = sql.SQL(", ").join(sql.Literal(i) for i in range(1, len(columns) + 1))
            out[view] = conn.execute(sql.SQL("SELECT * FROM reporting.{} WHERE {} ORDER BY {}").format(
                sql.Identifier(view), _in_years({c for c, _ in columns}, years), order)).fetchall()
    return out


def assert_same_views(left: dict[str, list[tuple]], right: dict[str, list[tuple]]) -> None:
    assert sorted(left) == sorted(right)
    for view in left:
        a, b = set(left[view]), set(right[view])
        assert left[view] == right[view], (
            f"reporting.{view}: {len(left[view])} vs {len(right[view])} rows; "
            f"only left {sorted(a - b)[:5]}; only right {sorted(b - a)[:5]}")


def rows_with_nothing(url: str, years: tuple[int, int] | None = None) -> dict[str, int]:
    """Per period view: rows whose event measures are all 0 (or NULL), except those of a
    locality with a denominator for the period's year that the row's scheme is measured
    against (listed at 0 % on purpose)."""
    out = {}
    with psycopg.connect(url) as conn:
        for view in reporting_views(conn):
            columns = _columns(conn, view)
            names = {c for c, _ in columns}
            if not {"period_type", "locality_code"} <= names:
                continue  # the calendar, reference data and plan targets: rows of the reference, not of events
            measures = [c for c, t in columns if t in NUMBERS and c not in DESCRIPTIVE_COLUMNS]
            assert measures, view
            empty = sql.SQL(" AND ").join(sql.SQL("coalesce({}, 0) = 0").format(sql.Identifier(c)) for c in measures)
            listed = sql.SQL("false")
            if "year" in names:
                listed = sql.SQL(
                    """EXISTS (SELECT 1 FROM denominators d {}
                               WHERE d.locality_code = v.locality_code AND d.year = v.year)""").format(
                    sql.SQL("JOIN report_scheme_denominators m ON m.measure = d.measure AND m.scheme = v.scheme"
                            if "scheme" in names else ""))
            (count,) = conn.execute(sql.SQL("SELECT count(*) FROM reporting.{} v WHERE {} AND {} AND NOT {}").format(
                sql.Identifier(view), _in_years(names, years), empty, listed)).fetchone()
            out[view] = count
    return out
