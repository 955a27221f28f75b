"""Reporting views under load: aggregates equivalent to ~10 million events, every commune.

Synthesizes the agg_* tables directly (3,321 communes x 5 schemes x 36 months, three agents
per commune, sex/birth-year rows, outreach), then times the reporting queries against a
baseline measured in the same run (`SELECT count(*)` of agg_active_changes: one scan of the
stock table), run alternately with each query. Prints medians and the ratio to the baseline.

    .venv/bin/python bench/reporting_queries.py            # embedded PostgreSQL in a temp dir
    DATABASE_URL=postgresql://... .venv/bin/python bench/reporting_queries.py   # a scratch database you own
    .venv/bin/python bench/reporting_queries.py --only "default period"   # the queries whose label has it
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.adapters.embedded import EmbeddedPostgres  # noqa: E402
from service.adapters.postgres import migrate, reports  # noqa: E402
from service.domain.access import NATION, Scope  # noqa: E402
from service.adapters.postgres.logins import create_login  # noqa: E402
from service.adapters.postgres.reference import load_vietnam_localities  # noqa: E402

MONTHS = 36  # 2023-01 .. 2025-12
RUNS = 5

SYNTHESIZE = [
    "SELECT setseed(0.42)",
    # Stock changes: every commune, scheme and month.
    f"""INSERT INTO agg_active_changes (locality_code, scheme, month, delta)
        SELECT l.code, s, (date '2023-01-01' + make_interval(months => m))::date,
               (random() * 40)::int - 8
        FROM localities l, unnest(ARRAY['BHXH_BB','BHXH_TN','BHTN','BHYT_HGD','BHYT_KHAC']) s,
             generate_series(0, {MONTHS - 1}) m
        WHERE l.level = 'commune'""",
    # Flows: three agents per commune (one per channel), ~10 million events in all.
    f"""INSERT INTO agg_flows (locality_code, scheme, month, channel, agent_id, new_participants,
            reactivations, renewals, lapses, withdrawals, contributions, contribution_months,
            contribution_vnd, campaign_enrolments)
        SELECT l.code, s, (date '2023-01-01' + make_interval(months => m))::date, ch,
               l.code || '-' || ch, n, n / 5, n * 2, n / 3, n / 10, n * 2, n * 6, n * 1980000, n / 4
        FROM localities l, unnest(ARRAY['BHXH_BB','BHXH_TN','BHTN','BHYT_HGD','BHYT_KHAC']) s,
             generate_series(0, {MONTHS - 1}) m,
             unnest(ARRAY['post_office','collection_organisation','social_insurance_office']) ch,
             LATERAL (SELECT (random() * 2)::int + 1 + (m * 0) AS n) r
        WHERE l.level = 'commune'""",
    f"""INSERT INTO agg_active_changes_by_person (locality_code, scheme, month, sex, birth_year, delta)
        SELECT l.code, s, (date '2023-01-01' + make_interval(months => m))::date, sex, by,
               (random() * 8)::int - 1
        FROM localities l, unnest(ARRAY['BHXH_BB','BHXH_TN','BHTN','BHYT_HGD','BHYT_KHAC']) s,
             generate_series(0, {MONTHS - 1}) m, unnest(ARRAY['male','female']) sex,
             unnest(ARRAY[1965, 1985, 2000]) by
        WHERE l.level = 'commune'""",
    f"""INSERT INTO agg_outreach (locality_code, month, campaign, conferences, attendees, cost_vnd)
        SELECT l.code, (date '2023-01-01' + make_interval(months => m))::date, 'thang-cao-diem', 1, 400, 25000000
        FROM localities l, generate_series(0, {MONTHS - 1}, 3) m WHERE l.level = 'commune'""",
    f"""INSERT INTO agg_campaign_enrolments (locality_code, scheme, month, campaign, new_participants, reactivations)
        SELECT l.code, 'BHXH_TN', (date '2023-01-01' + make_interval(months => m))::date, 'thang-cao-diem', 20, 2
        FROM localities l, generate_series(0, {MONTHS - 1}, 3) m WHERE l.level = 'commune'""",
    # Denominators for every locality in 2025.
    """INSERT INTO denominators (locality_code, year, measure, value)
        SELECT l.code, 2025, ms, CASE l.level WHEN 'commune' THEN 20000 WHEN 'province' THEN 2000000 ELSE 70000000 END
        FROM localities l, unnest(ARRAY['labour_force','population','in_scope_bhxh_bb','in_scope_bhtn']) ms""",
    "ANALYZE",
]

BASELINE = "SELECT count(*) FROM agg_active_changes"
QUERIES = {
    "coverage, every locality (nation, 34 provinces, 3,321 communes), one month, all schemes":
        "SELECT * FROM reporting.coverage WHERE period_type = 'month' AND period = '2025-06'",
    "coverage, communes only, one month, BHXH_BB":
        "SELECT * FROM reporting.coverage WHERE period_type = 'month' AND period = '2025-06' "
        "AND level = 'commune' AND scheme = 'BHXH_BB'",
    "coverage, every locality, year 2025": "SELECT * FROM reporting.coverage WHERE period_type = 'year' AND period = '2025'",
    "growth, every locality, one month": "SELECT * FROM reporting.growth WHERE period_type = 'month' AND period = '2025-06'",
    "withdrawals month over month, every locality": "SELECT * FROM reporting.withdrawals WHERE period_type = 'month' AND period = '2025-06'",
    "outreach, every locality, 2025-Q2": "SELECT * FROM reporting.outreach WHERE period_type = 'quarter' AND period = '2025-Q2'",
    "flows by channel, one province, one month":
        "SELECT * FROM reporting.flows_by_channel WHERE period_type = 'month' AND period = '2025-06' AND locality_code = '01'",
    "active by sex and age band, every locality, one month":
        "SELECT * FROM reporting.active_by_sex_age WHERE period_type = 'month' AND period = '2025-06'",
    "API breakdown by age band, one commune (narrow by-person query)":
        lambda conn: reports.fetch(conn, "breakdown:age_band", {"period_type": "month", "period": "2025-06",
                                   "locality": "00070"}, scope=NATION, limit=10_000, offset=0).items,
    "API breakdown by age band, one province (narrow by-person query)":
        lambda conn: reports.fetch(conn, "breakdown:age_band", {"period_type": "month", "period": "2025-06",
                                   "locality": "01"}, scope=NATION, limit=10_000, offset=0).items,
    # Access by locality: the scope filter of the reporting views (0051) against the views
    # without it, and a province token's API answer.
    "coverage, every locality, one month, without the scope filter (reporting_internal)":
        "SELECT * FROM reporting_internal.coverage WHERE period_type = 'month' AND period = '2025-06'",
    "coverage, one month, as a SQL login limited to province 01":
        lambda conn: _as_role(conn, SCOPED_LOGIN, "SELECT * FROM reporting.coverage"
                              " WHERE period_type = 'month' AND period = '2025-06'"),
    "API coverage, one month, a token limited to province 01":
        lambda conn: reports.fetch(conn, "coverage", {"period_type": "month", "period": "2025-06"},
                                   scope=Scope(frozenset({"01"})), limit=10_000, offset=0).items,
    "default period (the latest month with figures), nation":
        lambda conn: [reports.latest_month(conn, NATION)],
    "default period (the latest month with figures), a token limited to province 01":
        lambda conn: [reports.latest_month(conn, Scope(frozenset({"01"})))],
    "API breakdown by age band, a token limited to province 01, no filter":
        lambda conn: reports.fetch(conn, "breakdown:age_band", {"period_type": "month", "period": "2025-06"},
                                   scope=Scope(frozenset({"01"})), limit=10_000, offset=0).items,
}
SCOPED_LOGIN = "bench_province_01"


def _as_role(conn: psycopg.Connection, role: str, query: str) -> list:
    conn.execute(f"SET ROLE {role}")
    try:
        return conn.execute(query).fetchall()
    finally:
        conn.execute("RESET ROLE")


def _once(conn: psycopg.Connection, query) -> tuple[float, int]:
    start = time.perf_counter()
    rows = len(query(conn) if callable(query) else conn.execute(query).fetchall())
    return time.perf_counter() - start, rows


def timed(conn: psycopg.Connection, query) -> tuple[float, float, int]:
    """Medians of the query and of the baseline, run alternately (this machine's speed drifts)."""
    query_s, base_s, rows = [], [], 0
    for _ in range(RUNS):
        base_s.append(_once(conn, BASELINE)[0])
        seconds, rows = _once(conn, query)
        query_s.append(seconds)
    return statistics.median(query_s), statistics.median(base_s), rows


def run(url: str, only: list[str]) -> None:
    migrate(url)
    load_vietnam_localities(url)
    with psycopg.connect(url, autocommit=True) as conn:
        if conn.execute("SELECT count(*) FROM agg_flows").fetchone()[0] == 0:
            start = time.perf_counter()
            for statement in SYNTHESIZE:
                conn.execute(statement)
            print(f"synthesized in {time.perf_counter() - start:.1f} s")
        events = conn.execute(
            "SELECT sum(new_participants + reactivations + renewals + lapses + withdrawals) FROM agg_flows"
        ).fetchone()[0]
        sizes = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in
                 ("agg_active_changes", "agg_flows", "agg_active_changes_by_person")}
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (SCOPED_LOGIN,)).fetchone():
            create_login(conn, SCOPED_LOGIN, "bench", localities=["01"])
        print(f"events represented: {events:,}; rows: " + ", ".join(f"{t} {n:,}" for t, n in sizes.items()))
        print(f"baseline, run alternately with each query: {BASELINE}")
        print(f"{'query':<72} {'median ms':>10} {'rows':>8} {'baseline ms':>12} {'x baseline':>10}")
        for label, query in QUERIES.items():
            if only and not any(text in label for text in only):
                continue
            seconds, baseline, rows = timed(conn, query)
            print(f"{label:<72} {seconds * 1000:>10.1f} {rows:>8,} {baseline * 1000:>12.1f} {seconds / baseline:>10.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", default=[], metavar="TEXT",
                        help="time only the queries whose label contains TEXT (repeatable)")
    only = parser.parse_args().only
    if os.environ.get("DATABASE_URL"):
        run(os.environ["DATABASE_URL"], only)
        return
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedPostgres(Path(tmp) / "pg").start()
        try:
            run(server.url, only)
        finally:
            server.stop(quiet=True, mode="immediate")


if __name__ == "__main__":
    main()
