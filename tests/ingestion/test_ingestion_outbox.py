"""202 means durable: the outbox holds every accepted event until the consumer stores it, and
one event id names one event (409 for other content, at the API and in a batch)."""
import psycopg
import pytest

from ingestion_helpers import auth, conference, enrolment, read_topic
from service.adapters.postgres.aggregates import apply_rows
from service.contract.digest import digest_key
from service.domain.identity import Pseudonymiser
from service.domain.model import CONFERENCE, ENROLMENT, RETRACTION
from service.adapters.postgres.record_rows import record_row

pytestmark = pytest.mark.integration


def outbox_rows(settings) -> set[str]:
    with psycopg.connect(settings.database_url) as conn:
        return {str(i) for (i,) in conn.execute("SELECT event_id FROM event_outbox")}


def apply_topic(settings, records) -> None:
    """What the worker does with the records (same decode, same apply)."""
    pseudonymiser, key = Pseudonymiser(settings.pseudonym_key), digest_key(settings.pseudonym_key)
    rows = [record_row(r.value, pseudonymiser, key) for r in records]
    with psycopg.connect(settings.database_url) as conn:
        apply_rows(conn, *([row for t, row in rows if t == table] for table in (ENROLMENT, CONFERENCE, RETRACTION)))


def test_an_accepted_event_stays_in_the_outbox_until_the_consumer_stores_it(settings, client, tokens):
    bodies = [enrolment(), conference()]
    for body in bodies:
        assert client.post("/v1/events", json=body, headers=auth(tokens.agent)).status_code == 202
    assert outbox_rows(settings) == {b["event_id"] for b in bodies}
    apply_topic(settings, read_topic(settings, 2))
    assert outbox_rows(settings) == set()


def test_other_content_under_a_taken_event_id_is_409_before_and_after_the_consumer_stored_it(settings, client, tokens):
    body = enrolment()
    assert client.post("/v1/events", json=body, headers=auth(tokens.agent)).status_code == 202
    other = {**body, "occurred_at": "2025-08-13T09:30:00+07:00"}
    r = client.post("/v1/events", json=other, headers=auth(tokens.agent))  # the outbox knows the id
    assert r.status_code == 409 and r.mimetype == "application/problem+json"
    assert r.json["errors"] == [{"field": "event_id", "rule": "event_id_conflict", "message": r.json["errors"][0]["message"]}]
    apply_topic(settings, read_topic(settings, 1))
    assert client.post("/v1/events", json=other, headers=auth(tokens.agent)).status_code == 409  # the event store does
    assert client.post("/v1/events", json=body, headers=auth(tokens.agent)).status_code == 202  # a plain re-send
    assert len(read_topic(settings, 1, settle_s=0.5)) == 1  # nothing else was published


def test_a_batch_refuses_conflicts_item_by_item_also_within_itself(settings, client, tokens):
    taken = enrolment()
    assert client.post("/v1/events", json=taken, headers=auth(tokens.agent)).status_code == 202
    fresh = enrolment()
    items = [fresh, {**taken, "campaign": "other"}, taken, {**fresh, "campaign": "other"}, fresh]
    r = client.post("/v1/events/batch", json={"events": items}, headers=auth(tokens.agent))
    assert r.status_code == 207
    assert [x["status"] for x in r.json["results"]] == ["accepted", "rejected", "accepted", "rejected", "accepted"]
    assert r.json["results"][1]["errors"][0]["rule"] == "event_id_conflict"
    assert r.json["results"][3]["errors"][0]["rule"] == "event_id_conflict"
    assert (r.json["accepted"], r.json["rejected"]) == (3, 2)
    published = [dict(rec.headers)["event_id"].decode() for rec in read_topic(settings, 2, settle_s=0.5)]
    assert sorted(published) == sorted([taken["event_id"], fresh["event_id"]])
