"""Reporting views and REST reports over aggregates inserted directly (no broker needed)."""
from __future__ import annotations

import csv
import io
from datetime import date

import psycopg
import pytest

from reporting_figures import assert_api_figures, assert_sql_figures
from service.domain import access
from service.adapters.postgres import tokens as token_store
from service.adapters.postgres.reference import (DEMO_SEEDS, load_default_reference, load_denominators_csv,
                                                 load_targets_csv)
from service.domain.model import Channel
from service.bootstrap import build_api

pytestmark = pytest.mark.integration

M = date.fromisoformat
ACTIVE = [  # (commune, scheme, month, delta): the articles' stocks
    ("29905", "BHXH_BB", M("2020-03-01"), 10_000), ("29905", "BHXH_BB", M("2021-06-01"), 2_844),
    ("29905", "BHTN", M("2021-01-01"), 12_530),
    ("29905", "BHXH_TN", M("2019-05-01"), 643), ("29905", "BHXH_TN", M("2021-02-01"), 716),
    ("07627", "BHXH_BB", M("2020-01-01"), 15_984),
    ("07627", "BHXH_TN", M("2022-01-01"), 1_000), ("07615", "BHXH_TN", M("2023-03-01"), 1_208),
    ("19786", "BHXH_BB", M("2023-06-01"), 1_713), ("19786", "BHXH_BB", M("2024-01-01"), -813),
    ("19786", "BHXH_BB", M("2024-02-01"), -900),
]
FLOWS = [  # (commune, scheme, month, channel, agent, new, withdrawals)
    ("07627", "BHXH_TN", M("2020-03-01"), "post_office", "bg-post", 145, 0),
    ("07615", "BHXH_TN", M("2023-03-01"), "post_office", "bg-post", 1_145, 0),
    ("19786", "BHXH_BB", M("2024-01-01"), "social_insurance_office", "hue", 0, 400),
    ("19768", "BHXH_BB", M("2024-01-01"), "social_insurance_office", "hue", 0, 413),
    ("19786", "BHXH_BB", M("2024-02-01"), "social_insurance_office", "hue", 0, 450),
    ("19768", "BHXH_BB", M("2024-02-01"), "post_office", "hue-post", 0, 450),
    ("22258", "BHXH_TN", M("2023-02-01"), "collection_organisation", "dh", 30, 0),
    ("22258", "BHYT_HGD", M("2023-03-01"), "collection_organisation", "dh", 49, 0),
]
OUTREACH = [  # (commune, month, campaign, conferences, attendees, cost)
    ("29905", M("2021-02-01"), "", 2, 874, 50_250_000), ("29905", M("2021-08-01"), "", 2, 874, 50_250_000),
    ("22258", M("2023-02-01"), "dh", 2, 110, 9_000_000), ("22258", M("2023-03-01"), "dh", 2, 110, 9_000_000),
]
CAMPAIGN = [("22258", "BHXH_TN", M("2023-02-01"), "dh", 30, 0), ("22258", "BHYT_HGD", M("2023-03-01"), "dh", 49, 0)]


@pytest.fixture
def loaded(database_url: str) -> str:
    load_default_reference(database_url)
    assert not load_denominators_csv(database_url, DEMO_SEEDS / "denominators.csv").rejected
    assert not load_targets_csv(database_url, DEMO_SEEDS / "targets.csv").rejected
    with psycopg.connect(database_url) as conn, conn.cursor() as cur:
        cur.executemany("INSERT INTO agg_active_changes VALUES (%s, %s, %s, %s)", ACTIVE)
        cur.executemany(
            "INSERT INTO agg_flows (locality_code, scheme, month, channel, agent_id, new_participants, withdrawals)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)", FLOWS)
        cur.executemany("INSERT INTO agg_outreach VALUES (%s, %s, %s, %s, %s, %s)", OUTREACH)
        cur.executemany("INSERT INTO agg_campaign_enrolments VALUES (%s, %s, %s, %s, %s, %s)", CAMPAIGN)
        cur.executemany(
            "INSERT INTO agg_active_changes_by_person VALUES (%s, %s, %s, %s, %s, %s)",
            [("29905", "BHXH_TN", M("2019-05-01"), "female", 1980, 400),
             ("29905", "BHXH_TN", M("2019-05-01"), "male", 2001, 243)])
    return database_url


@pytest.fixture
def api(settings, loaded):
    with psycopg.connect(loaded) as conn:
        _, reporting = token_store.issue(conn, access.REPORTING, None, "analyst")
        token_store.upsert_agent(conn, "a1", "agent", Channel.POST_OFFICE, ["82"])
        _, agent = token_store.issue(conn, access.AGENT, "a1", "agent")
    app = build_api(settings)
    yield app.test_client(), reporting, agent
    app.extensions["enrolment"].close()


def test_article_figures_through_sql(loaded):
    assert_sql_figures(loaded)


def test_article_figures_through_rest(api):
    client, token, _ = api

    def get(path, **params):
        r = client.get(f"/v1/reports/{path}", query_string=params, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.get_data(as_text=True)
        return r.get_json()

    assert_api_figures(get)


def test_rollup_levels_and_derived_schemes(loaded):
    with psycopg.connect(loaded) as conn:
        rows = dict(conn.execute(
            """SELECT locality_code, active FROM reporting.stock WHERE period_type = 'month' AND period = '2021-12'
               AND scheme = 'BHXH' AND locality_code IN ('29905', '82', 'VN')""").fetchall())
        # BHXH = BHXH_BB + BHXH_TN, rolled up commune -> province -> nation; at the end of 2021
        # the nation also holds Bắc Giang's 15,984 BHXH_BB (its later changes are not counted yet).
        assert rows == {"29905": 12_844 + 1_359, "82": 14_203, "VN": 14_203 + 15_984}


def test_implausible_denominators_are_flagged_not_hidden(loaded):
    with psycopg.connect(loaded) as conn:
        flags = dict(conn.execute(
            "SELECT locality_code, flag FROM reporting.denominators WHERE year = 2024 AND measure = 'population'"
        ).fetchall())
        assert flags == {"46": "children_sum_exceeds_value_by_more_than_10pct", "19786": "exceeds_parent_value"}
        missing = conn.execute(
            """SELECT active, denominator_flag, coverage_pct FROM reporting.coverage WHERE period_type = 'month'
               AND period = '2024-01' AND locality_code = '46' AND scheme = 'BHXH_BB'
               AND denominator_measure = 'labour_force'""").fetchone()
        assert missing == (900, "missing", None)
        # In 02/2024 nobody is left: the stock shows the fall to 0, coverage has nothing to show
        # (no denominator of the scheme lists the province at 0 %).
        assert conn.execute(
            """SELECT s.active, s.active_previous_period, count(c.*) FROM reporting.stock s
               LEFT JOIN reporting.coverage c USING (period_type, period, locality_code, scheme)
               WHERE s.period_type = 'month' AND s.period = '2024-02' AND s.locality_code = '46'
                 AND s.scheme = 'BHXH_BB' GROUP BY 1, 2""").fetchall() == [(0, 900, 0)]


def test_breakdowns(api):
    client, token, _ = api
    auth = {"Authorization": f"Bearer {token}"}
    by_channel = client.get("/v1/reports/breakdown", headers=auth, query_string={
        "by": "channel", "period": "2024-02", "locality": "46", "scheme": "BHXH_BB"}).get_json()["items"]
    assert {r["channel"]: r["withdrawals"] for r in by_channel} == {"post_office": 450, "social_insurance_office": 450}
    by_age = client.get("/v1/reports/breakdown", headers=auth, query_string={
        "by": "age_band", "period_type": "year", "period": "2019", "locality": "29905", "scheme": "BHXH_TN"}).get_json()["items"]
    assert {r["age_band"]: r["active"] for r in by_age} == {"35_44": 400, "15_24": 243}
    # Named localities take the narrow query, a level alone the every-commune view: same figures.
    narrow = client.get("/v1/reports/breakdown", headers=auth, query_string={
        "by": "sex", "period_type": "year", "period": "2021", "locality": "82"}).get_json()["items"]
    wide = client.get("/v1/reports/breakdown", headers=auth, query_string={
        "by": "sex", "period_type": "year", "period": "2021", "level": "province"}).get_json()["items"]
    assert narrow == [r for r in wide if r["locality_code"] == "82"] and {r["sex"]: r["active"] for r in narrow} == {
        "female": 400, "male": 243}


def test_trend_is_a_running_stock_with_monthly_flows(api):
    client, token, _ = api
    body = client.get("/v1/reports/trend", headers={"Authorization": f"Bearer {token}"},
                      query_string={"locality": "46", "scheme": "BHXH_BB", "end": "2024-02", "months": 3}).get_json()
    assert [(i["period"], i["active"], i["withdrawals"]) for i in body["items"]] == [
        ("2023-12", 1_713, 0), ("2024-01", 900, 813), ("2024-02", 0, 900)]


def test_csv_pagination_and_auth(api):
    client, token, agent_token = api
    auth = {"Authorization": f"Bearer {token}"}
    query = {"period": "2021-12", "scheme": "BHXH_BB", "within": "82", "page_size": 2}
    first = client.get("/v1/reports/coverage", headers=auth, query_string=query).get_json()
    assert first["total"] == 4 and len(first["items"]) == 2  # 82 and 29905, two denominators each
    last = client.get("/v1/reports/coverage", headers=auth, query_string={**query, "page": 2}).get_json()
    assert [i["locality_code"] for i in last["items"]] == ["29905", "29905"]
    r = client.get("/v1/reports/coverage", headers={**auth, "Accept": "text/csv"}, query_string=query)
    assert r.mimetype == "text/csv" and r.headers["X-Total-Count"] == "4"
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
    assert [row["locality_code"] for row in rows] == ["82", "82"]
    assert client.get("/v1/reports/coverage").status_code == 401
    assert client.get("/v1/reports/coverage", headers={"Authorization": f"Bearer {agent_token}"}).status_code == 403
    bad = client.get("/v1/reports/coverage", headers=auth, query_string={"period_type": "quarter", "period": "2024-13"})
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "period"
    typo = client.get("/v1/reports/coverage", headers=auth, query_string={"perod": "2024-02"})
    assert typo.status_code == 422 and typo.get_json()["errors"][0]["field"] == "perod"
    paths = client.get("/openapi.json").get_json()["paths"]
    assert {"/v1/reports/coverage", "/v1/reports/trend", "/v1/reports/localities"} <= set(paths)


def test_post_denominators_dry_run_and_rejections(api, loaded):
    client, reporting, _ = api
    with psycopg.connect(loaded) as conn:
        _, token = token_store.issue(conn, access.REFERENCE, None, "statistics office")
    auth = {"Authorization": f"Bearer {token}"}
    rows = [{"locality_code": "82", "year": 2021, "measure": "labour_force", "value": 900_000},
            {"locality_code": "99999", "year": 2021, "measure": "labour_force", "value": 5}]
    refused = client.post("/v1/reports/denominators", headers={"Authorization": f"Bearer {reporting}"},
                          json={"rows": rows})
    assert refused.status_code == 403 and refused.get_json()["errors"][0]["rule"] == "token_scope"
    dry = client.post("/v1/reports/denominators?dry_run=true", headers=auth, json={"rows": rows})
    assert dry.status_code == 207
    assert dry.get_json() | {"rejected": None} == {"added": 1, "changed": 0, "unchanged": 0, "rejected": None, "dry_run": True}
    assert dry.get_json()["rejected"] == [{"line": 2, "locality_code": "99999", "reason": "unknown locality_code (load localities first)"}]
    with psycopg.connect(loaded) as conn:
        assert conn.execute("SELECT count(*) FROM denominators WHERE locality_code = '82'").fetchone() == (0,)
    real = client.post("/v1/reports/denominators", headers=auth, json={"rows": rows[:1]})
    assert real.status_code == 200 and real.get_json()["added"] == 1
    invalid = client.post("/v1/reports/denominators", headers=auth, json={"rows": [{**rows[0], "measure": "people"}]})
    assert invalid.status_code == 422 and invalid.get_json()["errors"][0]["field"] == "rows.0.measure"


def test_reader_role_reads_reporting_only(loaded, pg_server):
    with psycopg.connect(loaded, autocommit=True) as conn:
        conn.execute("SET ROLE reporting_reader")
        for view, year in (("coverage", 2021), ("growth", 2021), ("withdrawals", 2024), ("outreach", 2021),
                           ("flows_by_channel", 2024), ("active_by_sex_age", 2021)):
            assert conn.execute(f"SELECT count(*) FROM reporting.{view} WHERE period_type = 'year' AND period = %s",
                                (str(year),)).fetchone()[0] > 0, view
        assert conn.execute("SELECT count(*) FROM reporting.plan_attainment WHERE year = 2021").fetchone() == (2,)
        assert conn.execute("SELECT count(*) FROM reporting.localities").fetchone() == (3_356,)
        for table in ("agg_flows", "localities", "denominators", "schema_migrations", "reporting_base.stock"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"SELECT 1 FROM {table} LIMIT 1")


def test_every_reporting_view_and_column_is_documented(database_url):
    with psycopg.connect(database_url) as conn:
        undocumented = conn.execute(
            """SELECT c.relname, a.attname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
               WHERE n.nspname = 'reporting' AND col_description(c.oid, a.attnum) IS NULL""").fetchall()
        views = conn.execute(
            """SELECT c.relname, obj_description(c.oid, 'pg_class') FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'reporting'""").fetchall()
    assert undocumented == []
    assert len(views) >= 14 and all(doc for _, doc in views)


def test_locality_with_a_denominator_and_nobody_active_is_listed_at_zero(loaded):
    # Đông Hòa (22258) has denominators for 2023 but no active participants in the stock table.
    with psycopg.connect(loaded) as conn:
        rows = conn.execute(
            """SELECT scheme, active, denominator_measure, denominator, coverage_pct FROM reporting.coverage
               WHERE period_type = 'month' AND period = '2023-03' AND locality_code = '22258'
               AND denominator IS NOT NULL ORDER BY scheme, denominator_measure""").fetchall()
        assert rows == [
            ("BHTN", 0, "labour_force", 41_000, 0), ("BHXH", 0, "labour_force", 41_000, 0),
            ("BHXH_BB", 0, "labour_force", 41_000, 0), ("BHXH_TN", 0, "labour_force", 41_000, 0),
            ("BHYT", 0, "population", 60_000, 0), ("BHYT_HGD", 0, "population", 60_000, 0),
            ("BHYT_KHAC", 0, "population", 60_000, 0),
        ]
        # The zero rows add nothing: a locality with participants keeps its figures, once.
        sa_dec = conn.execute(
            """SELECT denominator_measure, active FROM reporting.coverage WHERE period_type = 'year'
               AND period = '2021' AND locality_code = '29905' AND scheme = 'BHXH_BB' ORDER BY 1""").fetchall()
        assert sa_dec == [("in_scope_bhxh_bb", 12_844), ("labour_force", 12_844)]
