"""Retracting events through the API: the resource route (404, 403, 422 with field and rule,
202 durable and published, idempotent, 409), supervisors of a province, retractions inside a
batch (accepted before their event is known), and through the consumer to the figures."""
import json
import uuid

import psycopg
import pytest

from ingestion_helpers import HCM_COMMUNE, LOCALITIES, auth, conference, enrolment, read_topic, value
from published_schema import ecma_valid, published
from service.domain import access
from service.adapters.postgres import tokens as token_store
from service.adapters.postgres.aggregates import apply_rows, read_aggregates
from service.domain.model import CONFERENCE, ENROLMENT, RETRACTION
from service.adapters.postgres.reference import LocalityRow, load_localities
from service.contract.digest import digest_key
from service.contract.jsonschema import RECORD_FILE
from service.domain.identity import Pseudonymiser
from service.adapters.postgres.record_rows import record_row

pytestmark = pytest.mark.integration


@pytest.fixture
def supervisors(tokens, reference):
    """Tokens of a supervisor of Hà Nội (01) and of one of Hồ Chí Minh City (79); the locality
    tree's closure loaded (the ingestion fixture inserts the localities alone)."""
    with psycopg.connect(reference) as conn:
        load_localities(conn, [LocalityRow(*row) for row in LOCALITIES])
        _, hanoi = token_store.issue(conn, access.SUPERVISOR, None, "BHXH Hà Nội", localities=["01"])
        _, hcm = token_store.issue(conn, access.SUPERVISOR, None, "BHXH TP.HCM", localities=["79"])
    return hanoi, hcm


def retract(client, token, target, **body):
    payload = {"event_id": str(uuid.uuid4()), "reason": "wrong_person", "occurred_at": "2025-08-14T10:00:00+07:00",
               **body}
    return client.post(f"/v1/events/{target}/retraction", json=payload, headers=auth(token))


def errors(response):
    return [(e["field"], e["rule"]) for e in response.json["errors"]]


def apply_topic(settings, records):
    pseudonymiser, key = Pseudonymiser(settings.pseudonym_key), digest_key(settings.pseudonym_key)
    rows = [record_row(r.value, pseudonymiser, key) for r in records]
    with psycopg.connect(settings.database_url) as conn:
        return apply_rows(conn, *([row for t, row in rows if t == table] for table in (ENROLMENT, CONFERENCE, RETRACTION)))


def test_an_agent_retracts_its_own_event_durably_and_it_is_published(settings, client, tokens):
    event = enrolment()
    assert client.post("/v1/events", json=event, headers=auth(tokens.agent)).status_code == 202
    r = retract(client, tokens.agent, event["event_id"], note="sai người: nhập nhầm số định danh")
    assert r.status_code == 202, r.json
    assert r.json["retracts"] == event["event_id"] and r.json["status"] == "accepted"
    records = {value(rec)["kind"]: rec for rec in read_topic(settings, 2)}
    published_retraction = value(records["retracted"])
    assert published_retraction["retraction"] == {"event_id": event["event_id"], "reason": "wrong_person",
                                                  "note": "sai người: nhập nhầm số định danh"}
    assert published_retraction["locality_code"] == event["locality_code"]
    assert published_retraction["agent"]["agent_id"] == "agent-1" and "participant" not in published_retraction
    assert records["retracted"].key == event["event_id"].encode()
    assert ecma_valid(published(RECORD_FILE), published_retraction)  # the published contract holds it
    result = apply_topic(settings, records.values())
    assert (result.retractions, result.retracted_on_arrival) == (1, 1)
    with psycopg.connect(settings.database_url) as conn:
        assert read_aggregates(conn)["agg_flows"] == {}
        assert conn.execute("SELECT count(*) FROM event_outbox").fetchone() == (0,)


def test_unknown_events_are_404_and_other_agents_events_403(settings, client, tokens):
    r = retract(client, tokens.agent, uuid.uuid4())
    assert r.status_code == 404 and errors(r) == [("path.event_id", "event_known")]
    theirs = enrolment(locality_code=HCM_COMMUNE, participant={"personal_id": "079188012345"})
    assert client.post("/v1/events", json=theirs, headers=auth(tokens.other_agent)).status_code == 202
    r = retract(client, tokens.agent, theirs["event_id"])
    assert r.status_code == 403 and errors(r) == [("path.event_id", "retraction_forbidden")]
    r = retract(client, tokens.reporting, theirs["event_id"])
    assert r.status_code == 403 and errors(r) == [("Authorization", "token_scope")]
    assert client.post(f"/v1/events/{theirs['event_id']}/retraction", json={}).status_code == 401


def test_a_retraction_breaking_a_rule_is_422_naming_field_and_rule(client, tokens):
    event = enrolment()
    assert client.post("/v1/events", json=event, headers=auth(tokens.agent)).status_code == 202
    target = event["event_id"]
    cases = [
        ({"reason": None}, ("reason", "not_null")),
        ({"reason": "typo"}, ("reason", "one_of")),
        ({"note": "a\x00b"}, ("note", "no_control_characters")),
        ({"note": "x" * 501}, ("note", "length")),
        ({"event_id": "not-a-uuid"}, ("event_id", "uuid")),
        ({"event_id": target}, ("event_id", "retraction_target")),
        ({"occurred_at": "2099-01-01T00:00:00+07:00"}, ("occurred_at", "occurred_at_not_future")),
        ({"occurred_at": "2025-08-12"}, ("occurred_at", "datetime_with_offset")),
        ({"occurred_at": None}, ("occurred_at", "not_null")),
        ({"participant": {}}, ("participant", "unknown_field")),
    ]
    for body, expected in cases:
        r = retract(client, tokens.agent, target, **body)
        assert r.status_code == 422 and expected in errors(r), (body, r.json)
    r = client.post(f"/v1/events/{target}/retraction", data=b'{"event_id": ', headers={
        **auth(tokens.agent), "Content-Type": "application/json"})
    assert r.status_code == 400
    assert client.post(f"/v1/events/{target}/retraction", json=[1], headers=auth(tokens.agent)).status_code == 422


def test_retracting_is_idempotent_by_the_retractions_id_and_409_for_other_content(settings, client, tokens):
    event = enrolment()
    assert client.post("/v1/events", json=event, headers=auth(tokens.agent)).status_code == 202
    own_id = str(uuid.uuid4())
    assert retract(client, tokens.agent, event["event_id"], event_id=own_id).status_code == 202
    assert retract(client, tokens.agent, event["event_id"], event_id=own_id).status_code == 202  # re-sent
    r = retract(client, tokens.agent, event["event_id"], event_id=own_id, reason="other")
    assert r.status_code == 409 and errors(r) == [("event_id", "event_id_conflict")]
    assert retract(client, tokens.agent, own_id).json["errors"][0]["rule"] == "retraction_target"
    assert len(read_topic(settings, 2, settle_s=0.5)) == 2  # the event and one retraction


def test_a_supervisor_retracts_events_of_its_provinces_only(settings, client, tokens, supervisors):
    hanoi, hcm = supervisors
    event = enrolment()  # Ba Đình, Hà Nội (01)
    assert client.post("/v1/events", json=event, headers=auth(tokens.agent)).status_code == 202
    r = retract(client, hcm, event["event_id"])
    assert r.status_code == 403 and errors(r) == [("path.event_id", "retraction_forbidden")]
    r = retract(client, hanoi, event["event_id"], reason="did_not_happen")
    assert r.status_code == 202
    records = read_topic(settings, 2)
    by_supervisor = next(value(x) for x in records if value(x)["kind"] == "retracted")
    assert "agent" not in by_supervisor and by_supervisor["supervisor"]["provinces"] == ["01"]
    assert ecma_valid(published(RECORD_FILE), by_supervisor)
    apply_topic(settings, records)
    with psycopg.connect(settings.database_url) as conn:
        assert read_aggregates(conn)["agg_flows"] == {}
        assert conn.execute("SELECT verdict, supervisor_id IS NOT NULL FROM event_retractions").fetchall() == \
            [("applied", True)]


def test_a_batch_carries_retractions_of_events_not_known_yet_and_refuses_known_foreign_ones(settings, client, tokens):
    theirs = conference(locality_code=HCM_COMMUNE)
    assert client.post("/v1/events", json=theirs, headers=auth(tokens.other_agent)).status_code == 202
    later = enrolment()
    items = [
        {"event_id": str(uuid.uuid4()), "kind": "retracted", "occurred_at": "2025-08-14T10:00:00+07:00",
         "locality_code": later["locality_code"],
         "retraction": {"event_id": later["event_id"], "reason": "duplicate_entry"}},
        {"event_id": str(uuid.uuid4()), "kind": "retracted", "occurred_at": "2025-08-14T10:00:00+07:00",
         "locality_code": "30001", "retraction": {"event_id": theirs["event_id"], "reason": "other"}},
        {"event_id": str(uuid.uuid4()), "kind": "retracted", "occurred_at": "2025-08-14T10:00:00+07:00",
         "locality_code": "00004", "scheme": "BHXH_TN", "retraction": {"event_id": str(uuid.uuid4()), "reason": "other"}},
    ]
    r = client.post("/v1/events/batch", json={"events": items}, headers=auth(tokens.agent))
    assert r.status_code == 207
    assert [x["status"] for x in r.json["results"]] == ["accepted", "rejected", "rejected"]
    assert [(e["field"], e["rule"]) for e in r.json["results"][1]["errors"]] == \
        [("retraction.event_id", "retraction_forbidden")]
    assert ("scheme", "not_allowed_for_kind") in [(e["field"], e["rule"]) for e in r.json["results"][2]["errors"]]
    # the event arrives after its retraction: it never counts
    assert client.post("/v1/events", json=later, headers=auth(tokens.agent)).status_code == 202
    records = read_topic(settings, 3)
    retraction_first = sorted(records, key=lambda x: value(x)["kind"] != "retracted")
    apply_topic(settings, retraction_first[:1])
    apply_topic(settings, retraction_first[1:])
    with psycopg.connect(settings.database_url) as conn:
        tables = read_aggregates(conn)
    assert tables["agg_flows"] == {} and sum(v[0] for v in tables["agg_outreach"].values()) == 1


def test_a_single_posted_retraction_of_a_foreign_event_is_403(client, tokens):
    theirs = enrolment(locality_code=HCM_COMMUNE, participant={"personal_id": "079188012345"})
    assert client.post("/v1/events", json=theirs, headers=auth(tokens.other_agent)).status_code == 202
    body = {"event_id": str(uuid.uuid4()), "kind": "retracted", "occurred_at": "2025-08-14T10:00:00+07:00",
            "locality_code": "00004", "retraction": {"event_id": theirs["event_id"], "reason": "other"}}
    r = client.post("/v1/events", data=json.dumps(body), headers={**auth(tokens.agent),
                                                                  "Content-Type": "application/json"})
    assert r.status_code == 403 and errors(r) == [("retraction.event_id", "retraction_forbidden")]


def test_the_retractions_report_per_agent_month_and_reason_in_json_and_csv(settings, client, tokens, supervisors):
    hanoi, _ = supervisors
    events = [enrolment(participant={"personal_id": f"00118801234{i}"}) for i in range(3)]
    for event in events:
        assert client.post("/v1/events", json=event, headers=auth(tokens.agent)).status_code == 202
    assert retract(client, tokens.agent, events[0]["event_id"], reason="wrong_person").status_code == 202
    assert retract(client, tokens.agent, events[0]["event_id"], reason="wrong_person").status_code == 202
    assert retract(client, hanoi, events[1]["event_id"], reason="did_not_happen").status_code == 202
    apply_topic(settings, read_topic(settings, 6))
    reporting = auth(tokens.reporting)
    r = client.get("/v1/reports/retractions", headers=reporting,
                   query_string={"period": "2025-08", "locality": "01"})
    assert r.status_code == 200, r.json
    rows = {(i["agent_id"], i["reason"]): (i["retractions"], i["retracted_events"], i["by_supervisor"])
            for i in r.json["items"]}
    assert rows == {("agent-1", "wrong_person"): (2, 1, 0), ("agent-1", "did_not_happen"): (1, 1, 1)}
    csv = client.get("/v1/reports/retractions", headers=reporting,
                     query_string={"period": "2025-08", "locality": "00004", "reason": "did_not_happen", "format": "csv"})
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    header, line = csv.text.strip().splitlines()
    assert header.split(",")[-8:] == ["channel", "agent_id", "reason", "retractions", "retracted_events",
                                      "retracted_conferences", "by_supervisor", "refused"]
    assert line.endswith("post_office,agent-1,did_not_happen,1,1,0,1,0")
    bad = client.get("/v1/reports/retractions", headers=reporting, query_string={"reason": "typo"})
    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "reason"


def test_cli_issues_supervisor_tokens_for_provinces_only(settings, client, tokens, supervisors):
    from click.testing import CliRunner

    from service.entrypoints.cli import main

    url = ["--database-url", settings.database_url]
    refused = CliRunner().invoke(main, ["tokens", "issue-supervisor", *url, "--label", "x", "--province", "00004"])
    assert refused.exit_code != 0 and "00004" in refused.output  # a commune, not a province
    issued = CliRunner().invoke(main, ["tokens", "issue-supervisor", *url, "--label", "BHXH Đồng Tháp",
                                       "--province", "87", "--province", "01"])
    assert issued.exit_code == 0, issued.output
    token = issued.stdout.strip().splitlines()[-1]
    event = conference()  # Sa Đéc (87), sent by agent-1
    assert client.post("/v1/events", json=event, headers=auth(tokens.agent)).status_code == 202
    assert retract(client, token, event["event_id"], reason="did_not_happen").status_code == 202
    assert client.post("/v1/events", json=enrolment(), headers=auth(token)).status_code == 403  # retracts only
