"""Requests that used to answer 500 (or worse, 202), each answered as a 4xx problem naming field and rule."""
import io
import json

import psycopg
import pytest

from ingestion_helpers import auth, enrolment
from service.adapters.postgres import tokens as token_store
from service.bootstrap import build_api

pytestmark = pytest.mark.integration
PROBLEM = "application/problem+json"


def problem(r, status: int) -> dict:
    assert r.status_code == status, r.get_data(as_text=True)[:500]
    assert r.mimetype == PROBLEM
    return r.get_json()


def test_json_nested_deeper_than_the_parser_allows_is_a_400_naming_the_body(client, tokens):
    deep = b"[" * 100_000 + b"]" * 100_000
    for path, token in (("/v1/events", tokens.agent), ("/v1/reports/targets", tokens.reference)):
        r = client.post(path, data=deep, content_type="application/json", headers=auth(token))
        assert problem(r, 400)["errors"] == [{"field": "", "rule": "json_nesting",
                                              "message": "arrays and objects nest too deeply"}]


def test_lone_surrogates_in_keys_and_echoed_values_are_escaped_in_the_answer(client, tokens):
    body = json.dumps(enrolment(event_id="x")).replace('"x"', '"\\ud800"')[:-1] + ', "k\\udc00": 1}'
    # the key is echoed as an unknown field, the batch echoes the event_id: both as their escape, in text
    for path, payload, echoed in (("/v1/events", body, ["\\\\udc00"]),
                                  ("/v1/events/batch", '{"events": [' + body + "]}", ["\\\\udc00", "\\\\ud800"])):
        r = client.post(path, data=payload, content_type="application/json", headers=auth(tokens.agent))
        assert r.status_code in (207, 422)
        text = r.get_data(as_text=True)
        assert all(e in text for e in echoed), text


def test_control_characters_in_query_parameters_are_a_400_naming_the_parameter(client, tokens):
    for query in ("locality=01%00", "within=%00", "x%00y=1"):
        r = client.get(f"/v1/reports/coverage?{query}", headers=auth(tokens.reporting))
        errors = problem(r, 400)["errors"]
        assert [e["rule"] for e in errors] == ["no_control_characters"]


@pytest.mark.parametrize("query", ["page=99999999999999999999", "page=1000001", "page_size=0"])
def test_absurd_page_numbers_are_a_422(client, tokens, query):
    r = client.get(f"/v1/reports/flows?{query}", headers=auth(tokens.reporting))
    assert problem(r, 422)["errors"][0]["field"] in ("page", "page_size")


@pytest.mark.parametrize("end", ["0000-01", "9999-12", "%D9%A2%D9%A0%D9%A2%D9%A4-01"])
def test_odd_trend_end_values_are_a_422(client, tokens, end):
    r = client.get(f"/v1/reports/trend?end={end}", headers=auth(tokens.reporting))
    assert problem(r, 422)["errors"] == [{"field": "end", "rule": "month_format",
                                          "message": "must be a month YYYY-MM from 2000-01 to 2060-12"}]


def test_a_trend_end_with_a_trailing_newline_is_refused_as_a_control_character(client, tokens):
    r = client.get("/v1/reports/trend?end=2024-01%0A", headers=auth(tokens.reporting))
    assert problem(r, 400)["errors"][0]["rule"] == "no_control_characters"


@pytest.mark.parametrize("path", ["/v1/reports/denominators", "/v1/reports/targets"])
def test_the_token_is_checked_before_the_body(client, path):
    r = client.post(path + "?dry_run=maybe", data=b"[" * 50_000, content_type="application/json")
    assert problem(r, 401)["type"].endswith("unauthorized")


def test_a_chunked_body_over_max_body_bytes_is_a_413(settings, tokens):
    app = build_api(settings.with_(max_body_bytes=64 * 1024))
    client = app.test_client()
    body = json.dumps(enrolment()).encode() + b" " * (64 * 1024) + b"garbage"
    r = client.post("/v1/events", input_stream=io.BytesIO(body), content_type="application/json",
                    headers={**auth(tokens.agent), "Transfer-Encoding": "chunked"},
                    environ_overrides={"wsgi.input_terminated": True})  # as gunicorn sets it
    problem(r, 413)
    small = json.dumps(enrolment()).encode()
    r = client.post("/v1/events", input_stream=io.BytesIO(small), content_type="application/json",
                    headers={**auth(tokens.agent), "Transfer-Encoding": "chunked"},
                    environ_overrides={"wsgi.input_terminated": True})
    assert r.status_code == 202
    app.extensions["enrolment"].close()


def test_csv_cells_that_would_run_as_formulas_are_escaped(client, tokens, reference):
    with psycopg.connect(reference) as conn:
        conn.execute("INSERT INTO localities (code, name, level, parent_code)"
                     " VALUES ('02', '=HYPERLINK(\"http://x\",\"y\")', 'province', 'VN')")
    r = client.get("/v1/reports/localities?parent=VN&format=csv", headers=auth(tokens.reporting))
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "'=HYPERLINK(" in r.get_data(as_text=True)
    assert ',=HYPERLINK' not in r.get_data(as_text=True).replace('"', "")


@pytest.fixture
def counted(settings, tokens, monkeypatch):
    """(client, the token hashes its app looked up): the store's lookup is wrapped before
    bootstrap.build_api binds it."""
    lookups: list[bytes] = []
    real = token_store.lookup
    monkeypatch.setattr(token_store, "lookup", lambda conn, h: lookups.append(h) or real(conn, h))
    app = build_api(settings)
    yield app.test_client(), lookups
    app.extensions["enrolment"].close()


def test_garbage_tokens_cost_no_token_query(counted, tokens):
    client, lookups = counted
    for n in range(200):
        r = client.get("/v1/reports/flows", headers=auth(f"garbage-{n}"))
        assert problem(r, 401)["type"].endswith("unauthorized")
    assert lookups == []
    assert client.get("/v1/reports/flows", headers=auth(tokens.reporting)).status_code == 200
    assert len(lookups) == 1


def test_unknown_tokens_cost_a_bounded_number_of_queries_per_client_address(counted, tokens):
    import secrets

    from service.entrypoints.api import auth as api_auth

    client, queries = counted
    one_unknown = token_store.TOKEN_PREFIX + secrets.token_urlsafe(32)
    for _ in range(15):  # the same unknown token: remembered, one query
        assert problem(client.post("/v1/events", json=enrolment(), headers=auth(one_unknown)), 401)
    assert len(queries) == 1
    statuses = [client.get("/v1/reports/flows", headers=auth(token_store.TOKEN_PREFIX + secrets.token_urlsafe(32)))
                .status_code for _ in range(300)]
    burst = api_auth.FAILED_LOOKUPS_PER_MINUTE / 6
    assert len(queries) <= 1 + burst + 2  # the address's budget, plus what refilled during the loop
    assert set(statuses) == {401, 429}
    r = client.get("/v1/reports/flows", headers=auth(tokens.reporting))
    assert problem(r, 429) and int(r.headers["Retry-After"]) >= 1
    # another address is not held back by this one's failures
    r = client.get("/v1/reports/flows", headers=auth(tokens.reporting), environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert r.status_code == 200
