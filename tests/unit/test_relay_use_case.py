"""The relay's use case on fakes: due rows are published, then noted published; a broker that
does not acknowledge leaves them due; the relay loop survives either side being down."""
import uuid

import pytest

from service.config import Settings
from service.entrypoints.relay import BATCH, Relay
from service.service_layer.ingestion import OutboxEntry, PublishUnavailable
from service.service_layer.relaying import publish_due
from service.service_layer.unavailable import DatabaseUnavailable


def entry(n: int) -> OutboxEntry:
    return OutboxEntry(uuid.UUID(int=n), b"digest", f"key-{n}".encode(), b"{}", "registered")


class FakeOutbox:
    def __init__(self, entries, down: bool = False):
        self.entries, self.down, self.asked, self.marked, self.closed = list(entries), down, [], [], False

    def due(self, *, limit, grace_s, stale_s):
        if self.down:
            raise DatabaseUnavailable("OperationalError")
        self.asked.append((limit, grace_s, stale_s))
        return [e for e in self.entries if e.event_id not in self.marked][:limit]

    def mark_published(self, event_ids):
        self.marked.extend(event_ids)

    def close(self):
        self.closed = True


class FakePublisher:
    def __init__(self, down: bool = False):
        self.down, self.published, self.closed = down, [], False

    def publish(self, records):
        if self.down:
            raise PublishUnavailable("no ack")
        self.published.extend(records)

    def close(self):
        self.closed = True


def test_due_rows_are_published_with_their_key_and_headers_then_marked():
    outbox, publisher = FakeOutbox([entry(1), entry(2)]), FakePublisher()
    assert publish_due(outbox, publisher, limit=10, grace_s=1.0, stale_s=60.0) == 2
    assert outbox.asked == [(10, 1.0, 60.0)]
    assert [r.key for r in publisher.published] == [b"key-1", b"key-2"]
    assert dict(publisher.published[0].headers)["event_id"] == str(uuid.UUID(int=1)).encode()
    assert outbox.marked == [uuid.UUID(int=1), uuid.UUID(int=2)]
    assert publish_due(outbox, publisher, limit=10, grace_s=1.0, stale_s=60.0) == 0


def test_rows_the_broker_did_not_acknowledge_stay_due():
    outbox = FakeOutbox([entry(1)])
    with pytest.raises(PublishUnavailable):
        publish_due(outbox, FakePublisher(down=True), limit=10, grace_s=0.0, stale_s=60.0)
    assert outbox.marked == []


def test_a_round_answers_zero_when_either_side_is_down_and_flags_the_broker():
    settings = Settings(pseudonym_key="k" * 32)
    broker_down = Relay(settings, FakePublisher(down=True), FakeOutbox([entry(1)]))
    assert broker_down.round() == 0 and broker_down._broker_failed
    database_down = Relay(settings, FakePublisher(), FakeOutbox([], down=True))
    assert database_down.round() == 0 and not database_down._broker_failed
    working = Relay(settings, FakePublisher(), FakeOutbox([entry(n) for n in range(BATCH + 1)]))
    assert working.round() == BATCH and working.round() == 1 and working.published == BATCH + 1


def test_run_ensures_the_topics_and_closes_its_collaborators():
    outbox, publisher, ensured = FakeOutbox([]), FakePublisher(), []
    relay = Relay(Settings(pseudonym_key="k" * 32, relay_interval_s=0.01), publisher, outbox,
                  lambda: (ensured.append(1), relay.request_stop()))
    relay.run()
    assert ensured == [1] and outbox.closed and publisher.closed
