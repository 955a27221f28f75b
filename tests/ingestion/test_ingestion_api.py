"""Post through the Flask app; read the records back from the real broker."""
import json

import psycopg
import pytest

from ingestion_helpers import HCM_COMMUNE, auth, conference, enrolment, read_topic, value
from service.contract.events import decode_record
from service.domain.identity import Pseudonymiser

pytestmark = pytest.mark.integration


def headers_of(record) -> dict[str, bytes]:
    return dict(record.headers)


def test_accepted_event_is_on_the_topic_with_key_headers_and_value(settings, client, tokens):
    body = enrolment()
    r = client.post("/v1/events", json=body, headers=auth(tokens.agent))
    assert r.status_code == 202
    assert r.json == {"event_id": body["event_id"], "status": "accepted"}

    (rec,) = read_topic(settings, 1, settle_s=0.3)
    pseudonyms = Pseudonymiser(settings.pseudonym_key)
    assert rec.key == pseudonyms.personal_id("001188012345").hex().encode()
    assert headers_of(rec) == {"event_id": body["event_id"].encode(), "schema_version": b"1", "kind": b"registered"}
    got = value(rec)
    assert got["agent"] == {"agent_id": "agent-1", "channel": "post_office"}  # from the token
    assert {k: got[k] for k in body if k != "occurred_at"} == {k: body[k] for k in body if k != "occurred_at"}
    event = decode_record(rec.value)
    assert event.occurred_at.isoformat() == "2025-08-12T09:30:00+07:00"
    assert str(event.event_id) == body["event_id"]


def test_keys_si_number_and_conference(settings, client, tokens):
    si_only = enrolment(participant={"si_number": "0123456789"})
    conf = conference()
    for body in (si_only, conf):
        assert client.post("/v1/events", json=body, headers=auth(tokens.agent)).status_code == 202
    records = {headers_of(r)["event_id"].decode(): r for r in read_topic(settings, 2)}
    assert records[si_only["event_id"]].key == Pseudonymiser(settings.pseudonym_key).si_number("0123456789").hex().encode()
    assert records[conf["event_id"]].key == b"30001"
    assert headers_of(records[conf["event_id"]])["kind"] == b"conference_held"


def test_one_participants_events_share_a_partition(settings, client, tokens):
    bodies = [enrolment(kind=k) for k in ("registered", "renewed", "lapsed", "registered")]
    del bodies[2]["contribution"]  # a lapse carries no contribution
    for b in bodies:
        assert client.post("/v1/events", json=b, headers=auth(tokens.agent)).status_code == 202
    records = read_topic(settings, 4)
    assert len({r.partition for r in records}) == 1
    assert [headers_of(r)["event_id"].decode() for r in sorted(records, key=lambda r: r.offset)] == [
        b["event_id"] for b in bodies]


def test_same_event_id_posted_again_answers_the_same_and_is_published_once(settings, client, tokens):
    body = enrolment()
    first = client.post("/v1/events", json=body, headers=auth(tokens.agent))
    again = client.post("/v1/events", json=body, headers=auth(tokens.agent))
    assert (first.status_code, first.json) == (again.status_code, again.json) == (
        202, {"event_id": body["event_id"], "status": "accepted"})
    # the outbox knows it: the re-sent copy is not published a second time
    assert [headers_of(r)["event_id"] for r in read_topic(settings, 1, settle_s=0.5)] == [body["event_id"].encode()]


def test_batch_accepts_the_valid_items_and_says_which_by_index(settings, client, tokens):
    good = [enrolment(), conference(), enrolment(participant={"si_number": "0987654321"})]
    bad_contradiction = enrolment(participant={"personal_id": "001188012345", "sex": "male"})
    items = [good[0], bad_contradiction, good[1], "not an object", good[2], enrolment(locality_code="99999")]
    r = client.post("/v1/events/batch", json={"events": items}, headers=auth(tokens.agent))
    assert r.status_code == 207
    assert (r.json["accepted"], r.json["rejected"]) == (3, 3)
    results = r.json["results"]
    assert [x["index"] for x in results] == list(range(6))
    assert [x["status"] for x in results] == ["accepted", "rejected", "accepted", "rejected", "accepted", "rejected"]
    assert results[1]["event_id"] == bad_contradiction["event_id"]
    assert results[1]["errors"] == [{"field": "participant.sex", "rule": "personal_id_consistency",
                                     "message": "contradicts the sex encoded in personal_id (female)"}]
    assert results[3] == {"index": 3, "event_id": None, "status": "rejected",
                          "errors": [{"field": "", "rule": "type", "message": "an event is a JSON object"}]}
    assert results[5]["errors"][0]["rule"] == "locality_commune"

    records = read_topic(settings, 3, settle_s=0.5)
    assert sorted(headers_of(rec)["event_id"].decode() for rec in records) == sorted(b["event_id"] for b in good)


def test_batch_all_accepted_is_202(settings, client, tokens):
    items = [enrolment() for _ in range(50)]
    r = client.post("/v1/events/batch", json={"events": items}, headers=auth(tokens.agent))
    assert r.status_code == 202 and r.json["accepted"] == 50
    assert len(read_topic(settings, 50)) == 50


def test_batch_envelope_and_size(settings, client, tokens):
    for body in ([enrolment()], {"events": []}, {"events": {}}, {"events": [], "more": 1}):
        r = client.post("/v1/events/batch", json=body, headers=auth(tokens.agent))
        assert r.status_code == 422 and r.mimetype == "application/problem+json"
    too_many = {"events": [enrolment() for _ in range(settings.max_batch_events + 1)]}
    r = client.post("/v1/events/batch", json=too_many, headers=auth(tokens.agent))
    assert r.status_code == 422 and r.json["errors"][0]["rule"] == "batch_size"
    assert read_topic(settings, 0, timeout_s=1) == []


def test_invalid_event_answers_problem_details_naming_field_and_rule(settings, client, tokens):
    r = client.post("/v1/events", json=enrolment(colour="red", kind="joined"), headers=auth(tokens.agent))
    assert r.status_code == 422
    assert r.mimetype == "application/problem+json"
    assert r.json["status"] == 422 and r.json["title"] and r.json["type"].endswith("invalid-event")
    assert sorted((e["field"], e["rule"]) for e in r.json["errors"]) == [("colour", "unknown_field"), ("kind", "one_of")]


def test_implausible_contribution_is_rejected(settings, client, tokens):
    body = enrolment(contribution={"months": 3, "amount_vnd": 1_320_000, "chosen_income_vnd": 2_000_000,
                                   "support_group": "other"})  # state support forgotten
    r = client.post("/v1/events", json=body, headers=auth(tokens.agent))
    assert r.status_code == 422
    assert [(e["field"], e["rule"]) for e in r.json["errors"]] == [("contribution.amount_vnd", "contribution_amount")]


def test_future_event_is_rejected(settings, client, tokens):
    r = client.post("/v1/events", json=enrolment(occurred_at="2099-01-01T00:00:00+00:00"), headers=auth(tokens.agent))
    assert r.status_code == 422 and r.json["errors"][0]["rule"] == "occurred_at_not_future"


def test_body_limits_and_media_type(settings, tokens):
    from service.bootstrap import build_api

    small = build_api(settings.with_(max_body_bytes=2000)).test_client()
    h = auth(tokens.agent)
    r = small.post("/v1/events", data=json.dumps(enrolment(campaign="x" * 100, padding="y" * 3000)),
                   content_type="application/json", headers=h)
    assert r.status_code == 413 and r.mimetype == "application/problem+json"
    r = small.post("/v1/events", data="event_id=1", content_type="application/x-www-form-urlencoded", headers=h)
    assert r.status_code == 415 and r.mimetype == "application/problem+json"
    r = small.post("/v1/events", data="{not json", content_type="application/json", headers=h)
    assert r.status_code == 400 and r.json["type"].endswith("malformed-json")
    r = small.post("/v1/events", data="[1, 2]", content_type="application/json", headers=h)
    assert r.status_code == 422 and r.json["errors"][0]["rule"] == "type"


def test_json_that_orjson_refuses_is_judged_field_by_field(settings, client, tokens):
    """orjson reads bodies first; what it refuses but JSON parsers read (integers beyond 64 bits,
    NaN) still gets the contract's field-by-field answer, not a 400."""
    h = auth(tokens.agent)
    body = json.dumps(enrolment(contribution={"months": 3, "amount_vnd": 10**30}))
    r = client.post("/v1/events", data=body, content_type="application/json", headers=h)
    assert r.status_code == 422
    assert {(e["field"], e["rule"]) for e in r.json["errors"]} == {("contribution.amount_vnd", "range")}
    participant = enrolment()["participant"]
    body = json.dumps(enrolment(participant={**participant, "birth_year": float("nan")}))
    assert "NaN" in body
    r = client.post("/v1/events", data=body, content_type="application/json", headers=h)
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "participant.birth_year"


def test_lone_surrogate_in_a_text_field_is_a_field_error(settings, client, tokens):
    """JSON may escape half a UTF-16 pair ("\\ud800"); such a string can be neither published
    as UTF-8 nor stored, so the contract refuses it like a control character."""
    body = json.dumps(enrolment(campaign="Tháng \ud800 cao điểm"))
    assert "\\ud800" in body
    r = client.post("/v1/events", data=body, content_type="application/json", headers=auth(tokens.agent))
    assert r.status_code == 422
    assert r.json["errors"] == [{"field": "campaign", "rule": "unicode_text",
                                 "message": "must be valid Unicode text (no lone surrogates)"}]


def test_agent_identity_comes_from_the_token_not_the_body(settings, client, tokens):
    body = enrolment(agent={"agent_id": "someone-else", "channel": "employer"})
    r = client.post("/v1/events", json=body, headers=auth(tokens.agent))
    assert r.status_code == 422 and r.json["errors"][0] == {
        "field": "agent", "rule": "unknown_field", "message": "Unknown field."}


def test_authentication_and_scope(settings, app, client, tokens):
    body = enrolment()
    assert client.post("/v1/events", json=body).status_code == 401
    r = client.post("/v1/events", json=body, headers={"Authorization": "Basic abc"})
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.post("/v1/events", json=body, headers=auth("enr_unknown")).status_code == 401
    r = client.post("/v1/events", json=body, headers=auth(tokens.reporting))
    assert r.status_code == 403 and r.json["type"].endswith("wrong-scope")
    # agent-2 is assigned to Hồ Chí Minh City only
    r = client.post("/v1/events", json=body, headers=auth(tokens.other_agent))
    assert r.status_code == 403 and r.json["errors"][0]["rule"] == "province_not_assigned"
    assert client.post("/v1/events", json=enrolment(locality_code=HCM_COMMUNE), headers=auth(tokens.other_agent)).status_code == 202
    assert len(read_topic(settings, 1, settle_s=0.3)) == 1


def test_revoked_token_is_refused(settings, tokens):
    from service.adapters.postgres import tokens as token_store
    from service.bootstrap import build_api

    client = build_api(settings.with_(auth_cache_ttl_s=0)).test_client()
    assert client.post("/v1/events", json=enrolment(), headers=auth(tokens.agent)).status_code == 202
    with psycopg.connect(settings.database_url) as conn:
        assert token_store.revoke(conn, token_id=tokens.agent_token_id) == 1
    assert client.post("/v1/events", json=enrolment(), headers=auth(tokens.agent)).status_code == 401


def test_reporting_required_guards_other_blueprints(settings, tokens):
    from service.bootstrap import build_api
    from service.entrypoints.api.auth import reporting_required

    app = build_api(settings)
    app.add_url_rule("/probe", "probe", reporting_required(lambda: "ok"))
    client = app.test_client()
    assert client.get("/probe").status_code == 401
    assert client.get("/probe", headers=auth(tokens.agent)).status_code == 403
    assert client.get("/probe", headers=auth(tokens.reporting)).status_code == 200


def test_rate_limit_per_agent(settings, tokens):
    from service.bootstrap import build_api

    client = build_api(settings.with_(rate_limit_per_minute=6)).test_client()  # bursts of 1
    assert client.post("/v1/events", json=enrolment(), headers=auth(tokens.agent)).status_code == 202
    r = client.post("/v1/events", json=enrolment(), headers=auth(tokens.agent))
    assert r.status_code == 429 and r.mimetype == "application/problem+json"
    assert 1 <= int(r.headers["Retry-After"]) <= 11
    # another agent has its own bucket
    assert client.post("/v1/events", json=enrolment(locality_code=HCM_COMMUNE),
                       headers=auth(tokens.other_agent)).status_code == 202


def test_openapi_document_and_offline_docs(client):
    spec = client.get("/openapi.json").json
    assert {"/v1/events", "/v1/events/batch"} <= set(spec["paths"])
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}
    assert "EventBody" in spec["components"]["schemas"]
    page = client.get("/docs").get_data(as_text=True)
    assert "/openapi.json" in page and "http" not in page.replace("/openapi.json", "").split("<body>")[1]
    for asset in ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"):
        assert client.get(f"/docs/assets/{asset}").status_code == 200


def test_health_readiness_and_metrics(settings, client, tokens):
    assert client.get("/healthz").json == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json["checks"] == {"broker": True, "database": True}
    client.post("/v1/events", json=enrolment(locality_code="99999"), headers=auth(tokens.agent))
    client.post("/v1/events", json=enrolment(), headers=auth(tokens.agent))
    text = client.get("/metrics").get_data(as_text=True)
    assert 'enrolment_api_rejections_total{rule="locality_commune"}' in text
    assert 'enrolment_api_requests_total{endpoint="/v1/events",method="POST",status="202"}' in text
    assert "enrolment_api_publish_seconds_bucket" in text
