"""The articles' figures, asserted through the SQL views and through the REST API.

The same expectations hold for the directly inserted aggregates (test_views.py) and for the
demo data set driven through API -> broker -> consumer (test_demo_end_to_end.py).
"""
from __future__ import annotations

from decimal import Decimal

import psycopg

SA_DEC, DONG_HOA, BAC_GIANG_PROVINCE, HUE_PROVINCE = "29905", "22258", "24", "46"


def _one(conn: psycopg.Connection, sql: str, *params):
    rows = conn.execute(sql, params).fetchall()
    assert len(rows) == 1, (sql, params, rows)
    return rows[0]


def assert_sql_figures(url: str) -> None:
    with psycopg.connect(url) as conn:
        # Sa Đéc, end of 2021: 12,844 BHXH_BB = 88.28 % of 14,549 in scope; 100 % of plan.
        assert _one(conn, """SELECT active, denominator, coverage_pct, denominator_flag FROM reporting.coverage
                    WHERE period_type = 'year' AND period = '2021' AND locality_code = %s
                      AND scheme = 'BHXH_BB' AND denominator_measure = 'in_scope_bhxh_bb'""", SA_DEC
                    ) == (12_844, 14_549, Decimal("88.28"), None)
        assert _one(conn, """SELECT active, coverage_pct FROM reporting.coverage
                    WHERE period_type = 'month' AND period = '2021-12' AND locality_code = %s
                      AND scheme = 'BHTN' AND denominator_measure = 'in_scope_bhtn'""", SA_DEC
                    ) == (12_530, Decimal("93.25"))
        # A quarter's stock is its last month-end value, not a sum of three months.
        assert _one(conn, """SELECT active FROM reporting.stock WHERE period_type = 'quarter'
                    AND period = '2021-Q4' AND locality_code = %s AND scheme = 'BHXH_BB'""", SA_DEC) == (12_844,)
        plan = dict(conn.execute(
            """SELECT subject, attainment_pct FROM reporting.plan_attainment
               WHERE year = 2021 AND locality_code = %s""", (SA_DEC,)).fetchall())
        assert plan == {"BHXH_BB": Decimal("100.00"), "BHTN": Decimal("100.00")}
        # BHXH_TN: 1,359 at the end of 2021 = 211.35 % of the 2019 result (643).
        assert _one(conn, """SELECT c.active, b.active, round(100.0 * c.active / b.active, 2)
                    FROM (SELECT * FROM reporting.stock WHERE period_type = 'year' AND period = '2021') c
                    JOIN (SELECT * FROM reporting.stock WHERE period_type = 'year' AND period = '2019') b
                      USING (locality_code, scheme)
                    WHERE locality_code = %s AND scheme = 'BHXH_TN'""", SA_DEC) == (1_359, 643, Decimal("211.35"))
        # Sa Đéc outreach in 2021: 4 rounds, 1,748 attendees, more than 100,000,000 VND.
        conferences, attendees, cost = _one(conn, """SELECT conferences, attendees, cost_vnd FROM reporting.outreach
                    WHERE period_type = 'year' AND period = '2021' AND locality_code = %s AND campaign = '*'""", SA_DEC)
        assert (conferences, attendees) == (4, 1_748) and cost > 100_000_000

        # Bắc Giang (province 24), 05/2023: BHXH_TN 4.60 % and BHXH 37.90 % of the labour force.
        rates = dict(conn.execute(
            """SELECT scheme, coverage_pct FROM reporting.coverage WHERE period_type = 'month'
               AND period = '2023-05' AND locality_code = %s AND denominator_measure = 'labour_force'""",
            (BAC_GIANG_PROVINCE,)).fetchall())
        assert rates["BHXH_TN"] == Decimal("4.60") and rates["BHXH"] == Decimal("37.90")
        # New BHXH_TN participants Jan-May 2023 vs Jan-May 2020: nearly 8 x.
        assert _one(conn, """SELECT c.new_participants, b.new_participants
                    FROM (SELECT * FROM reporting.flows WHERE period_type = 'ytd' AND period = '2023-05-YTD') c
                    JOIN (SELECT * FROM reporting.flows WHERE period_type = 'ytd' AND period = '2020-05-YTD') b
                      USING (locality_code, scheme)
                    WHERE locality_code = %s AND scheme = 'BHXH_TN'""", BAC_GIANG_PROVINCE) == (1_145, 145)

        # Huế (province 46): 900 withdrawals in 02/2024, +10.70 % on 01/2024.
        assert _one(conn, """SELECT withdrawals, withdrawals_previous_period, change_vs_previous_period_pct
                    FROM reporting.withdrawals WHERE period_type = 'month' AND period = '2024-02'
                      AND locality_code = %s AND scheme = 'BHXH_BB'""", HUE_PROVINCE) == (900, 813, Decimal("10.70"))

        # Đông Hòa, 2023-Q1: 4 conferences -> 79 participants.
        assert _one(conn, """SELECT conferences, enrolments, enrolments_per_conference FROM reporting.outreach
                    WHERE period_type = 'quarter' AND period = '2023-Q1' AND locality_code = %s AND campaign = '*'""",
                    DONG_HOA) == (4, 79, Decimal("19.75"))
        plan = {(s, b): (t, a, p) for s, b, t, a, p in conn.execute(
            """SELECT subject, basis, target_value, achieved, attainment_pct FROM reporting.plan_attainment
               WHERE year = 2023 AND locality_code = %s""", (DONG_HOA,)).fetchall()}
        assert plan == {("conferences", "held"): (20, 4, Decimal("20.00")),
                        ("BHXH_TN", "new"): (144, 30, Decimal("20.83")),
                        ("BHYT_HGD", "new"): (498, 49, Decimal("9.84"))}


def assert_api_figures(get) -> None:
    """`get(path, **params)` returns the parsed JSON of a 200 answer."""
    def item(path, **params):
        body = get(path, **params)
        assert body["total"] == 1, (path, params, body)
        return body["items"][0]

    sa_dec = item("coverage", period_type="year", period="2021", locality=SA_DEC, scheme="BHXH_BB",
                  measure="in_scope_bhxh_bb")
    assert (sa_dec["active"], sa_dec["denominator"], sa_dec["coverage_pct"]) == (12_844, 14_549, 88.28)
    assert item("coverage", period="2021-12", locality=SA_DEC, scheme="BHTN", measure="in_scope_bhtn")["coverage_pct"] == 93.25
    plan = get("plan", year=2021, locality=SA_DEC)["items"]
    assert {p["subject"]: p["attainment_pct"] for p in plan} == {"BHXH_BB": 100.0, "BHTN": 100.0}
    growth = item("growth", period_type="year", period="2021", locality=SA_DEC, scheme="BHXH_TN", base_period="2019")
    assert (growth["active"], growth["base_active"], growth["active_vs_base_pct"]) == (1_359, 643, 211.35)
    outreach = item("outreach", period_type="year", period="2021", locality=SA_DEC)
    assert (outreach["conferences"], outreach["attendees"]) == (4, 1_748) and outreach["cost_vnd"] > 100_000_000

    bac_giang = {r["scheme"]: r["coverage_pct"] for r in
                 get("coverage", period="2023-05", locality=BAC_GIANG_PROVINCE, measure="labour_force")["items"]}
    assert (bac_giang["BHXH_TN"], bac_giang["BHXH"]) == (4.60, 37.90)
    new = item("growth", period_type="ytd", period="2023-05-YTD", locality=BAC_GIANG_PROVINCE, scheme="BHXH_TN",
               base_period="2020-05-YTD")
    assert (new["new_participants"], new["base_new_participants"], new["new_participants_vs_base_pct"]) == (1_145, 145, 789.66)

    hue = item("withdrawals", period="2024-02", locality=HUE_PROVINCE, scheme="BHXH_BB")
    assert (hue["withdrawals"], hue["withdrawals_previous_period"], hue["change_vs_previous_period_pct"]) == (900, 813, 10.70)

    dong_hoa = item("outreach", period_type="quarter", period="2023-Q1", locality=DONG_HOA)
    assert (dong_hoa["conferences"], dong_hoa["enrolments"], dong_hoa["enrolments_per_conference"]) == (4, 79, 19.75)
    held = item("plan", year=2023, locality=DONG_HOA, subject="conferences")
    assert (held["target_value"], held["achieved"], held["attainment_pct"]) == (20, 4, 20.0)
