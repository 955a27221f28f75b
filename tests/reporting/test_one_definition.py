"""Each enum and column list of the read side is defined once in Python (service/domain/
reporting.py with its report catalog, domain.aggregation, domain.access); the database holds the same
knowledge in CHECK constraints, tables, the age_band() function and the views' columns. These
tests hold the two together: a value or column changed on one side alone fails here."""
from __future__ import annotations

import re
from dataclasses import fields

import psycopg
import pytest

from service.domain.access import SCOPES
from service.adapters.postgres.reports import QUERIES
from service.domain.ageband import BANDS, age_band
from service.domain.aggregation import TABLE_KEYS, TABLE_VALUES
from service.domain.model import Channel, Scheme
from service.domain.reporting import (BASES, LEVELS, MEASURES, PERIOD_TYPES, PRIMARY_MEASURE, REPORT_SCHEMES,
                                      SCHEME_TOTALS, SUBJECTS)
from service.domain.timeline import FlowCounts

pytestmark = pytest.mark.integration

CHECKED_VALUES = {
    ("localities", "level"): LEVELS,
    ("report_periods", "period_type"): PERIOD_TYPES,
    ("denominators", "measure"): MEASURES,
    ("targets", "subject"): SUBJECTS,
    ("targets", "basis"): BASES,
    ("targets", "denominator_measure"): MEASURES,
    ("agents", "channel"): tuple(c.value for c in Channel),
    ("api_tokens", "scope"): SCOPES,
}


def _check_literals(conn: psycopg.Connection, table: str, column: str) -> set[str]:
    """The string literals of the CHECK constraints on `table` that involve `column` alone."""
    definitions = [d for (d,) in conn.execute(
        """SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c
           JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
           WHERE c.conrelid = %s::regclass AND c.contype = 'c' AND cardinality(c.conkey) = 1
             AND a.attname = %s""", (table, column))]
    assert definitions, f"no CHECK on {table}.{column}"
    return {m.replace("''", "'") for d in definitions for m in re.findall(r"'((?:[^']|'')*)'", d)}


def test_check_constraints_allow_exactly_the_python_values(database_url):
    with psycopg.connect(database_url) as conn:
        for (table, column), values in CHECKED_VALUES.items():
            assert len(set(values)) == len(values), (table, column)
            assert _check_literals(conn, table, column) == set(values), f"{table}.{column}"


def test_scheme_tables_are_the_schemes_and_their_totals(database_url):
    with psycopg.connect(database_url) as conn:
        members = {s: set(m) for s, m in conn.execute(
            "SELECT scheme, array_agg(member) FROM report_scheme_members GROUP BY scheme")}
        measured = conn.execute("SELECT DISTINCT scheme, measure FROM report_scheme_denominators").fetchall()
        periods = {t for (t,) in conn.execute("SELECT DISTINCT period_type FROM report_periods")}
    expected = {s.value: {s.value} for s in Scheme} | {t: {s.value for s in m} for t, m in SCHEME_TOTALS.items()}
    assert members == expected
    assert set(REPORT_SCHEMES) == set(members)
    assert {s for s, _ in measured} == set(REPORT_SCHEMES)  # every scheme has a coverage rate
    assert {m for _, m in measured} <= set(MEASURES)
    assert set(PRIMARY_MEASURE.items()) <= set(measured) and set(PRIMARY_MEASURE) == set(REPORT_SCHEMES)
    assert periods == set(PERIOD_TYPES)


def test_sql_age_band_is_the_domain_age_band(database_url):
    on_year = 2040
    births = [None, 0, *range(on_year - 110, on_year + 2)]
    with psycopg.connect(database_url) as conn:
        bands = dict(conn.execute(
            "SELECT b, age_band(b, %s) FROM unnest(%s::int[]) AS b", (on_year, births)).fetchall())
    assert bands == {b: age_band(b, on_year) for b in births}
    assert set(bands.values()) == set(BANDS)


def test_flow_columns_are_one_list(database_url):
    assert tuple(f.name for f in fields(FlowCounts)) == TABLE_VALUES["agg_flows"]
    with psycopg.connect(database_url) as conn:
        for table, keys in TABLE_KEYS.items():
            columns = {c for (c,) in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public'"
                " AND table_name = %s", (table,))}
            assert set(keys) | set(TABLE_VALUES[table]) <= columns, table


def test_every_report_column_is_a_column_of_its_view(database_url):
    with psycopg.connect(database_url) as conn:
        for name, spec in QUERIES.items():
            schema, view = spec.view.split(".")
            columns = [c for (c,) in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
                (schema, view))]
            assert columns, spec.view
            missing = set(spec.columns) - set(columns)
            assert not missing, f"{name}: {sorted(missing)} not in {spec.view}"
    flows = QUERIES["flows"].columns
    assert flows[flows.index("scheme") + 1:] == TABLE_VALUES["agg_flows"]
