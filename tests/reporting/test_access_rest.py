"""Access by locality in the REST reports: a token limited to subtrees reads only inside them.

Aggregates are inserted directly (no broker needed). Huế (province 46, communes 19786 and
19768) and Bắc Giang (province 24, communes 07627 and 07615) both have figures; a token for
one of them must see nothing of the other, nor of the nation above it.
"""
from __future__ import annotations

import csv
import io
from datetime import date

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings
from hypothesis import strategies as st

from service.domain import access
from service.adapters.postgres import tokens as token_store
from service.adapters.postgres.reference import load_default_reference
from service.bootstrap import build_api

pytestmark = pytest.mark.integration

HUE, HUE_A, HUE_B = "46", "19786", "19768"
BAC_GIANG, BG_A, BG_B = "24", "07627", "07615"
M = date.fromisoformat
ACTIVE = [(HUE_A, "BHXH_BB", M("2024-01-01"), 120), (HUE_B, "BHXH_BB", M("2024-01-01"), 80),
          (BG_A, "BHXH_TN", M("2024-01-01"), 300), (BG_B, "BHXH_TN", M("2024-02-01"), 40)]
FLOWS = [  # (commune, scheme, month, channel, agent, new, withdrawals)
    (HUE_A, "BHXH_BB", M("2024-02-01"), "social_insurance_office", "hue", 5, 7),
    (HUE_B, "BHXH_BB", M("2024-02-01"), "post_office", "hue-post", 3, 2),
    (BG_A, "BHXH_TN", M("2024-02-01"), "post_office", "bg-post", 11, 1),
]
BY_PERSON = [(HUE_A, "BHXH_BB", M("2024-01-01"), "female", 1980, 3), (HUE_A, "BHXH_BB", M("2024-01-01"), "male", 1990, 50),
             (HUE_B, "BHXH_BB", M("2024-01-01"), "female", 1985, 40), (HUE_B, "BHXH_BB", M("2024-01-01"), "male", 1970, 2),
             (BG_A, "BHXH_TN", M("2024-01-01"), "female", 1985, 300)]
PERIOD = {"period_type": "month", "period": "2024-02"}


@pytest.fixture
def api(settings):
    url = settings.database_url
    load_default_reference(url)
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.executemany("INSERT INTO agg_active_changes VALUES (%s, %s, %s, %s)", ACTIVE)
        cur.executemany(
            "INSERT INTO agg_flows (locality_code, scheme, month, channel, agent_id, new_participants, withdrawals)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)", FLOWS)
        cur.executemany("INSERT INTO agg_active_changes_by_person VALUES (%s, %s, %s, %s, %s, %s)", BY_PERSON)
        tokens = {
            "nation": token_store.issue(conn, access.REPORTING, None, "nation")[1],
            "hue": token_store.issue(conn, access.REPORTING, None, "hue", localities=[HUE])[1],
            "commune": token_store.issue(conn, access.REPORTING, None, "commune", localities=[HUE_A])[1],
            "two": token_store.issue(conn, access.REPORTING, None, "two", localities=[HUE_B, BAC_GIANG])[1],
            "hue5": token_store.issue(conn, access.REPORTING, None, "hue, publication", localities=[HUE],
                                      min_cell_size=5)[1],
            "reference": token_store.issue(conn, access.REFERENCE, None, "statistics office")[1],
            "hue_reference": token_store.issue(conn, access.REFERENCE, None, "hue office", localities=[HUE])[1],
        }
    app = build_api(settings)
    client = app.test_client()

    def get(token: str, path: str, **query):
        return client.get(f"/v1/reports/{path}", query_string=query, headers={"Authorization": f"Bearer {tokens[token]}"})

    def post(token: str, path: str, body: dict, **query):
        return client.post(f"/v1/reports/{path}", json=body, query_string=query,
                           headers={"Authorization": f"Bearer {tokens[token]}"})

    def issue(roots: list[str]) -> str:
        with psycopg.connect(url) as conn:
            tokens[",".join(roots)] = token_store.issue(conn, access.REPORTING, None, "any", localities=roots)[1]
        return ",".join(roots)

    get.post, get.issue = post, issue
    yield get
    app.extensions["enrolment"].close()


def _subtree(url: str, roots: list[str]) -> set[str]:
    with psycopg.connect(url) as conn:
        return {c for (c,) in conn.execute(
            "SELECT descendant_code FROM locality_closure WHERE ancestor_code = ANY(%s)", (roots,))}


REPORT_PATHS = [("coverage", {}), ("flows", {}), ("growth", {}), ("withdrawals", {}), ("outreach", {}),
                ("breakdown", {"by": "channel"}), ("breakdown", {"by": "agent"}), ("breakdown", {"by": "sex"}),
                ("breakdown", {"by": "age_band"}), ("breakdown", {"by": "sex_age_band"}),
                ("plan", {"year": 2025}), ("denominators", {}), ("targets", {}), ("retractions", {})]


def _query(path: str, extra: dict) -> dict:
    return extra if path in ("plan", "denominators", "targets") else {**PERIOD, **extra}


@pytest.mark.parametrize("path,extra", REPORT_PATHS, ids=lambda p: p if isinstance(p, str) else "-".join(map(str, p.values())))
def test_every_report_answers_only_inside_the_token_localities(api, settings, path, extra):
    hue = _subtree(settings.database_url, [HUE])
    nation = api("nation", path, **_query(path, extra), page_size=10_000)
    assert nation.status_code == 200, nation.json
    answer = api("hue", path, **_query(path, extra), page_size=10_000)
    assert answer.status_code == 200, answer.json
    body = answer.json
    codes = {row["locality_code"] for row in body["items"]}
    assert codes <= hue  # never the nation, never Bắc Giang
    # Exactly the nation-wide token's rows inside Huế, and a total that counts only those.
    expected = [row for row in nation.json["items"] if row["locality_code"] in hue]
    assert body["items"] == expected
    assert body["total"] == len(expected)
    # CSV: the same rows, the same total.
    as_csv = api("hue", path, **_query(path, extra), page_size=10_000, format="csv")
    assert as_csv.status_code == 200
    rows = list(csv.DictReader(io.StringIO(as_csv.get_data(as_text=True))))
    assert [r["locality_code"] for r in rows] == [r["locality_code"] for r in expected]
    assert as_csv.headers["X-Total-Count"] == str(len(expected))


def test_province_token_sees_its_province_and_communes_not_the_nation(api):
    body = api("hue", "flows", **PERIOD, scheme="BHXH_BB").json
    assert {(r["locality_code"], r["new_participants"]) for r in body["items"]} == {(HUE, 8), (HUE_A, 5), (HUE_B, 3)}
    nation = api("nation", "flows", **PERIOD, scheme="BHXH_BB").json
    assert "VN" in {r["locality_code"] for r in nation["items"]}
    # Paging says nothing about hidden rows either: past the end the total is still Huế's.
    past = api("hue", "flows", **PERIOD, scheme="BHXH_BB", page=50, page_size=1).json
    assert past["items"] == [] and past["total"] == 3


@pytest.mark.parametrize("parameter,code", [("locality", BAC_GIANG), ("locality", BG_A), ("within", "VN"),
                                            ("parent", "VN"), ("locality", "VN"), ("within", BAC_GIANG),
                                            ("locality", "no-such-place")])
def test_a_filter_outside_the_token_localities_is_403(api, parameter, code):
    answer = api("hue", "coverage", **PERIOD, **{parameter: code})
    assert answer.status_code == 403
    problem = answer.json
    assert answer.mimetype == "application/problem+json"
    assert problem["errors"] == [{"field": parameter, "rule": "token_localities", "message": problem["detail"]}]
    assert code in problem["detail"] and HUE in problem["detail"]
    # The nation-wide token may name it (unknown codes simply have no rows).
    assert api("nation", "coverage", **PERIOD, **{parameter: code}).status_code == 200


def test_filters_inside_the_subtree_work(api):
    body = api("hue", "flows", **PERIOD, parent=HUE, scheme="BHXH_BB").json
    assert {r["locality_code"] for r in body["items"]} == {HUE_A, HUE_B}
    body = api("hue", "flows", **PERIOD, within=HUE_A).json
    assert {r["locality_code"] for r in body["items"]} == {HUE_A}
    assert api("hue", "flows", **PERIOD, level="nation").json["items"] == []


def test_commune_token_sees_one_commune(api):
    for path, extra in REPORT_PATHS:
        body = api("commune", path, **_query(path, extra)).json
        assert {r["locality_code"] for r in body["items"]} <= {HUE_A}, path
    assert {r["locality_code"] for r in api("commune", "flows", **PERIOD).json["items"]} == {HUE_A}
    assert api("commune", "flows", **PERIOD, locality=HUE).status_code == 403  # its province is above it


def test_token_with_two_subtrees(api, settings):
    allowed = _subtree(settings.database_url, [HUE_B, BAC_GIANG])
    body = api("two", "flows", **PERIOD).json
    assert {r["locality_code"] for r in body["items"]} == {HUE_B, BAC_GIANG, BG_A}
    assert {r["locality_code"] for r in body["items"]} <= allowed
    assert api("two", "flows", **PERIOD, locality=HUE_A).status_code == 403


def test_drill_down_and_scope(api, settings):
    assert api("nation", "scope").json == {
        "nation": True, "min_cell_size": None,
        "localities": [{"code": "VN", "name": "Việt Nam", "level": "nation", "parent_code": None}]}
    scope = api("hue", "scope").json
    assert scope["nation"] is False and scope["min_cell_size"] is None
    assert [(r["code"], r["level"], r["parent_code"]) for r in scope["localities"]] == [(HUE, "province", "VN")]
    assert [r["code"] for r in api("two", "scope").json["localities"]] == [HUE_B, BAC_GIANG]  # by code

    roots = api("hue", "localities").json
    assert [r["code"] for r in roots["items"]] == [HUE] and roots["total"] == 1
    children = api("hue", "localities", parent=HUE).json
    assert {r["code"] for r in children["items"]} == _subtree(settings.database_url, [HUE]) - {HUE}
    provinces = api("hue", "localities", level="province").json
    assert [r["code"] for r in provinces["items"]] == [HUE]
    for parameter, code in (("parent", "VN"), ("code", BAC_GIANG), ("code", "VN"), ("parent", BAC_GIANG)):
        answer = api("hue", "localities", **{parameter: code})
        assert answer.status_code == 403 and answer.json["errors"][0]["field"] == parameter
    assert api("nation", "localities").json["items"][0]["code"] == "VN"


def test_trend_defaults_to_the_token_locality(api):
    body = api("hue", "trend", scheme="BHXH_BB", end="2024-02", months=2).json
    assert body["filters"]["locality"] == HUE
    assert [r["active"] for r in body["items"]] == [200, 200]
    assert api("nation", "trend", scheme="BHXH_BB", end="2024-02", months=2).json["filters"]["locality"] == "VN"
    for code in ("VN", BAC_GIANG, BG_A):
        assert api("hue", "trend", locality=code).status_code == 403


def test_the_default_period_is_the_latest_month_within_the_token_localities(api, settings):
    """Only Bắc Giang has figures in May: a Huế reader's default period stays February."""
    with psycopg.connect(settings.database_url) as conn:
        conn.execute("INSERT INTO agg_flows (locality_code, scheme, month, channel, agent_id, new_participants)"
                     " VALUES (%s, 'BHXH_TN', '2024-05-01', 'post_office', 'bg-post', 2)", (BG_A,))
    assert api("nation", "flows").json["filters"]["period"] == "2024-05"
    assert api("hue", "flows").json["filters"]["period"] == "2024-02"
    assert api("hue", "coverage", period_type="quarter").json["filters"]["period"] == "2024-Q1"
    hue = api("hue", "flows").json["items"]
    assert hue and {r["locality_code"] for r in hue} <= {HUE, HUE_A, HUE_B}
    assert api("hue", "trend", scheme="BHXH_BB", months=1).json["filters"]["end"] == "2024-02"


def _sums_with_one_withheld(items: list[dict], column: str, parents: dict[str, str]) -> list:
    """Sums in the answer (a locality = its children, per sex) with exactly one withheld cell."""
    at = {(i["locality_code"], i["sex"]): i for i in items}
    bad = []
    for (place, sex), total in at.items():
        parts = [i for (p, s), i in at.items() if parents.get(p) == place and s == sex]
        cells = [total, *parts]
        if parts and sum(c[column] is None for c in cells) == 1:
            bad.append(cells)
    return bad


def test_small_cells_are_withheld_and_cannot_be_computed_back(api):
    query = {**PERIOD, "by": "sex", "scheme": "BHXH_BB"}
    clear = api("hue", "breakdown", **query).json
    assert all("suppressed" not in i for i in clear["items"])  # default off
    values = {(i["locality_code"], i["sex"]): i["active"] for i in clear["items"]}
    assert values[(HUE_A, "female")] == 3 and values[(HUE_B, "male")] == 2
    answer = api("hue5", "breakdown", **query).json
    assert answer["filters"]["min_cell_size"] == 5 and answer["total"] == clear["total"]
    parents = {HUE_A: HUE, HUE_B: HUE}
    for item in answer["items"]:
        key = (item["locality_code"], item["sex"])
        assert item["suppressed"] == (["active"] if item["active"] is None else [])
        if 0 < values[key] < 5:
            assert item["active"] is None, key
        elif item["active"] is not None:
            assert item["active"] == values[key]
    assert _sums_with_one_withheld(answer["items"], "active", parents) == []
    assert sum(i["active"] is None for i in answer["items"]) >= 4  # two small cells, two complements
    # A request may raise the token's minimum, never lower it.
    assert api("hue5", "breakdown", **query, min_cell_size=2).json["filters"]["min_cell_size"] == 5
    raised = api("hue5", "breakdown", **query, min_cell_size=60).json
    assert raised["filters"]["min_cell_size"] == 60 and all(i["active"] is None for i in raised["items"] if values[
        (i["locality_code"], i["sex"])] < 60)
    # Any token may ask for it.
    asked = api("nation", "breakdown", **query, min_cell_size=5, within=HUE).json
    assert [i["active"] for i in asked["items"]] == [i["active"] for i in answer["items"]]
    assert api("hue5", "scope").json["min_cell_size"] == 5
    # CSV: the withheld cells are empty and the last column lists them.
    text = api("hue5", "breakdown", **query, format="csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0])[-1] == "suppressed"
    for row, item in zip(rows, answer["items"]):
        assert row["suppressed"] == ";".join(item["suppressed"])
        assert row["active"] == ("" if item["active"] is None else str(item["active"]))
    assert api("hue5", "breakdown", **query, min_cell_size=1).status_code == 422


def test_per_agent_flows_withhold_small_counts_and_their_money(api):
    answer = api("hue5", "breakdown", **PERIOD, by="agent", scheme="BHXH_BB").json
    for item in answer["items"]:
        for column in ("new_participants", "withdrawals"):
            assert item[column] is None or not 0 < item[column] < 5, item
        if {"new_participants", "reactivations", "renewals"} & set(item["suppressed"]):
            assert "contribution_vnd" in item["suppressed"] or item["contribution_vnd"] is not None
    hue_post = next(i for i in answer["items"] if i["agent_id"] == "hue-post" and i["locality_code"] == HUE_B)
    assert hue_post["new_participants"] is None and hue_post["withdrawals"] is None
    assert hue_post["contribution_vnd"] is None  # 3 payers


def test_reference_data_needs_a_reference_token(api):
    row = {"locality_code": HUE_A, "year": 2024, "measure": "labour_force", "value": 9_000}
    refused = api.post("hue", "denominators", {"rows": [row]})
    assert refused.status_code == 403 and refused.json["errors"][0]["rule"] == "token_scope"
    assert api.post("nation", "targets", {"rows": [{"locality_code": HUE, "year": 2024, "subject": "BHXH",
                                                    "basis": "active", "target_count": 5}]}).status_code == 403
    assert api.post("reference", "denominators", {"rows": [row]}).json["added"] == 1
    assert api.post("reference", "targets", {"rows": [{"locality_code": HUE, "year": 2024, "subject": "BHXH",
                                                       "basis": "active", "target_count": 5}]}).status_code == 200
    # A reference token limited to Huế writes only there: a row elsewhere is rejected, the rest loaded.
    mixed = api.post("hue_reference", "denominators", {"rows": [{**row, "value": 9_100},
                                                                {**row, "locality_code": BG_A}]})
    assert mixed.status_code == 207
    assert mixed.json["changed"] == 1
    assert mixed.json["rejected"] == [{"line": 2, "locality_code": BG_A,
                                       "reason": f"outside this token's localities ({HUE})"}]
    assert api("hue", "denominators", year=2024, locality=HUE_A).json["items"][0]["value"] == 9_100
    assert api("reference", "coverage").status_code == 403  # a reference token does not read reports


def test_every_report_endpoint_is_covered_by_these_tests(settings):
    """A new report endpoint must join REPORT_PATHS (or the endpoints tested on their own)."""
    app = build_api(settings)
    try:
        paths = app.test_client().get("/openapi.json").json["paths"]
    finally:
        app.extensions["enrolment"].close()
    reports = {p.removeprefix("/v1/reports/") for p, ops in paths.items() if p.startswith("/v1/reports/") and "get" in ops}
    assert reports == {p for p, _ in REPORT_PATHS} | {"scope", "trend", "localities"}


CODES = ["VN", HUE, HUE_A, HUE_B, BAC_GIANG, BG_A, "29905", "nowhere"]


def test_any_token_and_filter_answer_inside_the_subtrees_or_403(api, settings):
    """Random token scopes and locality filters: 403 exactly when the filter names a place
    outside the token's subtrees; otherwise rows only inside them."""
    roots_choices = [[HUE], [HUE_A], [BAC_GIANG], [HUE_B, BG_A], [HUE, BAC_GIANG]]
    names = {tuple(r): api.issue(r) for r in roots_choices}
    subtrees = {tuple(r): _subtree(settings.database_url, r) for r in roots_choices}

    @given(roots=st.sampled_from(roots_choices), parameter=st.sampled_from(["locality", "parent", "within"]),
           code=st.sampled_from(CODES), path=st.sampled_from(["flows", "coverage", "withdrawals", "denominators"]))
    @hypothesis_settings(max_examples=60, deadline=None, database=None,
                         suppress_health_check=[HealthCheck.function_scoped_fixture])
    def check(roots, parameter, code, path):
        allowed = subtrees[tuple(roots)]
        query = {parameter: code, "page_size": 10_000} | ({} if path == "denominators" else PERIOD)
        answer = api(names[tuple(roots)], path, **query)
        if code not in allowed:
            assert answer.status_code == 403 and answer.json["errors"][0]["field"] == parameter
        else:
            assert answer.status_code == 200
            assert {r["locality_code"] for r in answer.json["items"]} <= allowed

    check()
