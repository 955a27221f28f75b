"""Issue 15, the three findings: every reporting row is made from the figures, not from which
aggregate rows happen to exist. Events are applied with the real SQL apply path into the real
PostgreSQL (no broker needed); the REST reports read the same views."""
from __future__ import annotations

import csv
import io
import secrets
from datetime import UTC, date, datetime

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from reporting_tree import load_tree
from eventgen import ALL_AGENTS, conference, enrolment, event_sets, personal_id, si_number
from reporting_views import assert_same_views, rows_with_nothing, snapshot
from service.domain import access
from service.adapters.postgres import tokens as token_store
from service.adapters.postgres.aggregates import apply_rows
from service.adapters.postgres.staging_rows import rows_for
from service.domain.aggregation import TABLE_KEYS, TABLE_VALUES, aggregate
from service.domain.identity import Pseudonymiser
from service.bootstrap import build_api

pytestmark = pytest.mark.integration

COMMUNE = "87001"


def at(y, m, d):
    return datetime(y, m, d, 3, tzinfo=UTC)


@pytest.fixture
def url(database_url: str) -> str:
    load_tree(database_url)
    return database_url


def apply(url: str, key: str, *batches) -> None:
    pseudonymiser = Pseudonymiser(key)
    with psycopg.connect(url) as conn:
        for batch in batches:
            apply_rows(conn, *rows_for(batch, pseudonymiser))


def rows(url: str, query: str, *params) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


def test_growth_has_a_row_where_flows_have_new_participants_without_stock(url, other_database_url):
    key = secrets.token_hex(8)
    joined, left = (enrolment("registered", at(2024, 3, 5), pid=personal_id(1)),
                    enrolment("lapsed", at(2024, 3, 20), pid=personal_id(1)))
    apply(url, key, [joined, left])  # one batch: no stock row is ever written
    assert rows(url, "SELECT count(*) FROM agg_active_changes") == [(0,)]
    month = "period_type = 'month' AND period = '2024-03' AND scheme = 'BHXH_BB'"
    assert rows(url, f"SELECT locality_code, new_participants, lapses FROM reporting.flows WHERE {month} ORDER BY 1") == [
        ("87", 1, 1), ("87001", 1, 1), ("VN", 1, 1)]
    assert rows(url, f"""SELECT locality_code, active, active_previous_period, new_participants,
                                new_participants_change_vs_previous_period_pct
                         FROM reporting.growth WHERE {month} ORDER BY 1""") == [
        ("87", 0, 0, 1, None), ("87001", 0, 0, 1, None), ("VN", 0, 0, 1, None)]
    # A month later nothing is active and nobody joined, but the comparison with March is news.
    assert rows(url, """SELECT locality_code, new_participants, new_participants_previous_period FROM reporting.growth
                        WHERE period_type = 'month' AND period = '2024-04' AND locality_code = '87001'
                          AND scheme = 'BHXH_BB'""") == [("87001", 0, 1)]
    # The stock has nothing to show: no row (no denominator lists the commune).
    assert rows(url, "SELECT count(*) FROM reporting.stock WHERE period_type = 'month' AND period = '2024-03'") == [(0,)]

    # The same two events one at a time: same rows everywhere.
    load_tree(other_database_url)
    apply(other_database_url, key, [joined], [left])
    assert_same_views(snapshot(url), snapshot(other_database_url))


def test_agents_count_only_agents_with_a_non_zero_flow(url):
    post_office, collector = ALL_AGENTS[0], ALL_AGENTS[1]
    apply(url, secrets.token_hex(8),
          [enrolment("registered", at(2024, 3, 10), pid=personal_id(2), agent=post_office)],
          [enrolment("registered", at(2024, 1, 10), pid=personal_id(2), agent=collector)])  # late: March's is no flow
    # The March row of agg_flows is left behind with every value 0 ...
    assert rows(url, "SELECT agent_id, new_participants FROM agg_flows WHERE month = '2024-03-01'") == [("agent-1", 0)]
    # ... and no view shows it.
    march = "period_type = 'month' AND period = '2024-03'"
    assert rows(url, f"SELECT count(*) FROM reporting.flows_by_agent WHERE {march}") == [(0,)]
    assert rows(url, f"SELECT count(*) FROM reporting.flows_by_channel WHERE {march}") == [(0,)]
    assert rows(url, f"SELECT count(*) FROM reporting.flows WHERE {march}") == [(0,)]
    q1 = "period_type = 'quarter' AND period = '2024-Q1' AND locality_code = '87001' AND scheme = 'BHXH_BB'"
    assert rows(url, f"SELECT channel, agents, new_participants FROM reporting.flows_by_channel WHERE {q1}") == [
        ("collection_organisation", 1, 1)]


def test_a_campaign_named_star_stays_apart_from_all_campaigns(url):
    """Outreach's '*' rows (all campaigns) are summed from its campaign rows (migration 0052); a
    campaign literally named '*' keeps its own row beside the total, as before."""
    apply(url, secrets.token_hex(8), [
        enrolment("registered", at(2024, 2, 1), pid=personal_id(4), campaign="*"),
        enrolment("registered", at(2024, 2, 2), pid=personal_id(5), campaign="thang-cao-diem"),
        conference(at(2024, 2, 3), campaign="*", attendees=30, cost=2_000_000),
    ])
    assert sorted(rows(url, "SELECT campaign, conferences, attendees, cost_vnd, enrolments FROM reporting.outreach"
                            " WHERE period_type = 'month' AND period = '2024-02' AND locality_code = %s",
                       COMMUNE)) == [("*", 1, 30, 2_000_000, 1), ("*", 1, 30, 2_000_000, 2),
                                     ("thang-cao-diem", 0, 0, 0, 1)]


def test_views_ignore_all_zero_aggregate_rows(url):
    """Rows whose values are all 0, in every agg_* table, change no view (they are what a
    re-derivation leaves behind, depending on arrival order)."""
    apply(url, secrets.token_hex(8), [
        enrolment("registered", at(2024, 2, 1), sin=si_number(3), locality="87002", money=(1, 500_000)),
        enrolment("withdrawn", at(2024, 6, 1), sin=si_number(3), locality="87002"),
    ])
    before = snapshot(url)
    values = {"locality_code": "30002", "scheme": "BHTN", "month": date(2024, 5, 1), "channel": "employer",
              "agent_id": "agent-4", "sex": "female", "birth_year": 1990, "campaign": "thang-cao-diem"}
    with psycopg.connect(url) as conn:
        for table, keys in TABLE_KEYS.items():
            columns = (*keys, *TABLE_VALUES[table])
            conn.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})",
                         [values[k] for k in keys] + [0] * len(TABLE_VALUES[table]))
    after = snapshot(url)
    assert_same_views(before, after)
    assert {v: n for v, n in rows_with_nothing(url).items() if n} == {}
    assert {"stock", "flows", "growth", "withdrawals", "coverage", "outreach", "flows_by_agent", "flows_by_channel",
            "active_by_sex_age"} <= set(after)


ZERO_KEYS = st.fixed_dictionaries({
    "locality_code": st.sampled_from(["87001", "87002", "87003", "30001"]),
    "scheme": st.sampled_from(["BHXH_BB", "BHXH_TN", "BHYT_HGD"]),
    "month": st.integers(0, 11).map(lambda m: date(2020, 1 + m, 1)),
    "channel": st.sampled_from(["post_office", "employer"]),
    "agent_id": st.sampled_from(["agent-1", "agent-2", "agent-9"]),
    "sex": st.sampled_from(["male", "female", "unknown"]),
    "birth_year": st.sampled_from([0, 1980, 1991]),
    "campaign": st.sampled_from(["", "thang-cao-diem"]),
})


@hsettings(max_examples=15, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(events=event_sets(max_participants=5, max_events=20, attributes=True),
       zeros=st.lists(st.tuples(st.sampled_from(sorted(TABLE_KEYS)), ZERO_KEYS), max_size=8))
def test_zero_rows_anywhere_change_no_view(url, events, zeros):
    """Property: the tables of a random event set, with or without all-zero rows at random keys
    (where a key has no row yet), give the same rows in every view, none with nothing in it."""
    with psycopg.connect(url) as conn:
        conn.execute(f"TRUNCATE {', '.join(TABLE_KEYS)}")
        for table, content in aggregate(events).items():
            columns = (*TABLE_KEYS[table], *TABLE_VALUES[table])
            conn.cursor().executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})",
                [(*key, *values) for key, values in content.items()])
    years = (2019, 2021)
    before = snapshot(url, years)
    assert {v: n for v, n in rows_with_nothing(url, years).items() if n} == {}
    with psycopg.connect(url) as conn:
        for table, values in zeros:
            keys = TABLE_KEYS[table]
            conn.execute(f"INSERT INTO {table} ({', '.join(keys + TABLE_VALUES[table])}) VALUES "
                         f"({', '.join(['%s'] * (len(keys) + len(TABLE_VALUES[table])))}) ON CONFLICT DO NOTHING",
                         [values[k] for k in keys] + [0] * len(TABLE_VALUES[table]))
    assert_same_views(before, snapshot(url, years))


def test_a_locality_is_listed_at_zero_for_its_own_denominators_only(url):
    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO denominators (locality_code, year, measure, value) VALUES "
                     "('87001', 2024, 'population', 9000), ('87002', 2024, 'in_scope_bhxh_bb', 3000)")
    listed = rows(url, """SELECT locality_code, scheme, active FROM reporting.stock
                          WHERE period_type = 'month' AND period = '2024-05' ORDER BY 1, 2""")
    assert listed == [("87001", "BHYT", 0), ("87001", "BHYT_HGD", 0), ("87001", "BHYT_KHAC", 0),
                      ("87002", "BHXH_BB", 0)]  # not their province, not the nation, not 2023
    assert rows(url, """SELECT denominator_measure, coverage_pct, denominator_flag FROM reporting.coverage
                        WHERE period_type = 'year' AND period = '2024' AND locality_code = '87002' ORDER BY 1""") == [
        ("in_scope_bhxh_bb", 0, None), ("labour_force", None, "missing")]
    assert rows(url, "SELECT count(*) FROM reporting.stock WHERE period_type = 'year' AND period = '2023'") == [(0,)]
    assert {v: n for v, n in rows_with_nothing(url).items() if n} == {}


def test_rest_reports_follow_the_rule(settings, url):
    """The REST reports (JSON and CSV) show the views' rows; the default period and the narrow
    by-sex query ignore rows netted to zero."""
    key = settings.pseudonym_key
    apply(url, key,
          [enrolment("registered", at(2024, 3, 5), pid=personal_id(4), money=(1, 500_000)),
           enrolment("lapsed", at(2024, 3, 20), pid=personal_id(4))],
          [enrolment("registered", at(2024, 5, 10), pid=personal_id(5), locality="87002", agent=ALL_AGENTS[0])],
          [enrolment("registered", at(2024, 2, 10), pid=personal_id(5), locality="87002", agent=ALL_AGENTS[1])])
    with psycopg.connect(url) as conn:
        # A stock change netted to zero in a later month, as a re-derivation leaves it.
        conn.execute("INSERT INTO agg_active_changes VALUES ('87003', 'BHXH_BB', '2024-09-01', 0)")
        conn.execute("INSERT INTO agg_active_changes_by_person VALUES ('87003', 'BHXH_BB', '2024-09-01', 'male', 1980, 0)")
        _, token = token_store.issue(conn, access.REPORTING, None, "analyst")
    app = build_api(settings)
    client = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}

    def get(path, **params):
        answer = client.get(f"/v1/reports/{path}", headers=auth, query_string=params)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        return answer

    try:
        growth = get("growth", period="2024-03", locality=COMMUNE, scheme="BHXH_BB").get_json()
        assert [(i["active"], i["new_participants"]) for i in growth["items"]] == [(0, 1)]
        # May: the post office's registration became no flow when February's arrived.
        assert get("breakdown", by="channel", period="2024-05").get_json()["total"] == 0
        agents = get("breakdown", by="agent", period="2024-02", locality="87002", scheme="BHXH_BB", format="csv")
        assert [r["agent_id"] for r in csv.DictReader(io.StringIO(agents.get_data(as_text=True)))] == ["agent-2"]
        # The default period is the latest month with a non-zero figure (May's flow row is all 0).
        assert get("flows").get_json()["filters"]["period"] == "2024-03"
        # Narrow (named localities) and wide by-person queries: no zero rows.
        narrow = get("breakdown", by="sex", period="2024-09", locality="87003").get_json()
        assert narrow["items"] == [] and narrow["total"] == 0
        assert get("breakdown", by="sex_age_band", period="2024-09", level="commune", scheme="BHXH_BB").get_json()["items"] == [
            {"period_type": "month", "period": "2024-09", "period_start": "2024-09-01", "period_end": "2024-09-01",
             "locality_code": "87002", "locality_name": "Xã 87002", "level": "commune", "scheme": "BHXH_BB",
             "sex": "female", "age_band": "35_44", "active": 1}]
        assert get("withdrawals", period="2024-03").get_json()["total"] == 0
    finally:
        app.extensions["enrolment"].close()
