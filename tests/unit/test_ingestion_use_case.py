"""The ingestion use case on fakes: durable first, published once, conflicts refused."""
import uuid

from service.service_layer.ingestion import PublishUnavailable
from service.service_layer.ingestion import Admission, OutboxEntry
from service.service_layer.ingestion import Outcome, accept


class FakeOutbox:
    def __init__(self):
        self.rows: dict[uuid.UUID, bytes] = {}
        self.published: set[uuid.UUID] = set()

    def admit(self, entries):
        new = frozenset(e.event_id for e in entries if e.event_id not in self.rows)
        known = {e.event_id: self.rows[e.event_id] for e in entries if e.event_id in self.rows}
        self.rows.update({e.event_id: e.content_digest for e in entries if e.event_id in new})
        return Admission(new, known)

    def mark_published(self, event_ids):
        self.published.update(event_ids)


class FakePublisher:
    def __init__(self, up=True):
        self.up, self.sent = up, []

    def publish(self, records):
        if not self.up:
            raise PublishUnavailable("down")
        self.sent.extend(dict(r.headers)["event_id"].decode() for r in records)


def entry(event_id=None, digest=b"a"):
    return OutboxEntry(event_id or uuid.uuid4(), digest, b"k", b"{}", "registered")


def test_new_events_are_stored_then_published_and_marked():
    outbox, publisher = FakeOutbox(), FakePublisher()
    a, b = entry(), entry()
    result = accept([a, b], outbox, publisher)
    assert result.outcomes == [Outcome.ACCEPTED, Outcome.ACCEPTED] and result.published
    assert publisher.sent == [str(a.event_id), str(b.event_id)] and outbox.published == {a.event_id, b.event_id}


def test_duplicates_are_not_published_again_and_other_content_is_a_conflict():
    outbox, publisher = FakeOutbox(), FakePublisher()
    a = entry()
    accept([a], outbox, publisher)
    fresh = entry()
    result = accept([a, entry(a.event_id, b"other"), fresh, fresh, entry(fresh.event_id, b"other")], outbox, publisher)
    assert result.outcomes == [Outcome.DUPLICATE, Outcome.CONFLICT, Outcome.ACCEPTED, Outcome.DUPLICATE,
                               Outcome.CONFLICT]
    assert publisher.sent == [str(a.event_id), str(fresh.event_id)]


def test_a_broker_that_does_not_answer_leaves_the_events_accepted_for_the_relay():
    outbox, publisher = FakeOutbox(), FakePublisher(up=False)
    a = entry()
    result = accept([a], outbox, publisher)
    assert result.outcomes == [Outcome.ACCEPTED] and not result.published
    assert a.event_id in outbox.rows and outbox.published == set()
