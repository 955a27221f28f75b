"""The consumer's apply empties the outbox of the events it stores, whatever the API does to
those rows at the same moment (against the real PostgreSQL).

GroupedOutbox writes the broker's acknowledgements (`published_at`) with its next group, in a
transaction that lasts as long as that group's INSERT; the relay writes them too. A worker
applying the acknowledged events meanwhile waits for those row locks in its outbox DELETE, and
under READ COMMITTED then re-checks the updated rows. With the join plan the workers chose in
the demo (a nested loop probing event_outbox's primary key), PostgreSQL 16 deleted only the
first of them: in the demo, about one accepted event in ten stayed in the outbox for ever."""
from __future__ import annotations

import secrets
import threading
import time
import uuid
from datetime import UTC, datetime

import psycopg
import pytest

from service.adapters.postgres import outbox
from service.adapters.postgres.aggregates import apply_rows
from service.domain.model import CONFERENCE, ENROLMENT
from service.adapters.postgres.locks import take_apply_lock
from service.contract.digest import digest_key
from service.domain.identity import Pseudonymiser
from service.domain.model import (
    Agent, Channel, ConferenceEvent, EnrolmentEvent, EnrolmentKind, Participant, Scheme,
)
from service.adapters.postgres.record_rows import record_row
from service.adapters.postgres.sql_files import text
from service.service_layer.ingestion import outbox_entry

pytestmark = pytest.mark.integration

DEADLINE_S = 30.0
AGENT = Agent("agent-1", Channel.POST_OFFICE)
MARCH = datetime(2024, 3, 1, tzinfo=UTC)
ENROLMENTS = 200  # enough for the planner to probe event_outbox's index row by row


def _events(first_person: int) -> list:
    """Enrolments of new participants and a conference: both of the apply's staging tables."""
    enrolments = [EnrolmentEvent(uuid.uuid4(), EnrolmentKind.REGISTERED, MARCH, "87001", AGENT, Scheme.BHXH_BB,
                                 Participant(personal_id=f"087085{n:06d}"))
                  for n in range(first_person, first_person + ENROLMENTS)]
    return [*enrolments, ConferenceEvent(uuid.uuid4(), MARCH, "87001", AGENT, 50, 1_000_000, "UBND xã", None)]


def _wait_until_blocked_by(observer: psycopg.Connection, blocked_pid: int, blocker_pid: int) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while blocker_pid not in observer.execute("SELECT pg_blocking_pids(%s)", (blocked_pid,)).fetchone()[0]:
        assert time.monotonic() < deadline, f"backend {blocked_pid} never waited for {blocker_pid}"
        time.sleep(0.01)


# The demo's workers: a nested loop probing event_outbox_pkey per staged event; and whatever
# the planner picks here.
PLANS = {"nested loop": ("SET enable_hashjoin = off", "SET enable_mergejoin = off"), "planner's choice": ()}


@pytest.mark.parametrize("plan", PLANS)
def test_an_apply_forgets_rows_whose_acknowledgement_commits_while_it_waits(database_url, plan):
    key = secrets.token_hex(16)
    pseudonymiser, digest = Pseudonymiser(key), digest_key(key)
    now = datetime.now(UTC)
    entries = [outbox_entry(e, now, pseudonymiser, digest) for e in _events(1)]
    others = [outbox_entry(e, now, pseudonymiser, digest) for e in _events(1 + ENROLMENTS)]
    rows = [record_row(e.value, pseudonymiser, digest) for e in entries]  # as the worker decodes them
    ids = [e.event_id for e in entries]
    with psycopg.connect(database_url, autocommit=True) as observer, \
            psycopg.connect(database_url) as api, psycopg.connect(database_url) as worker, \
            psycopg.connect(database_url) as other_worker:
        assert outbox.admit(api, entries).new == set(ids)
        observer.execute("ANALYZE event_outbox")
        for setting in PLANS[plan]:
            worker.execute(setting)
        worker.commit()
        other_worker.execute(take_apply_lock())  # the apply below stores its events, then waits here
        failures: list[BaseException] = []

        def apply() -> None:
            try:
                apply_rows(worker, [r for tag, r in rows if tag == ENROLMENT], [r for tag, r in rows if tag == CONFERENCE])
            except BaseException as exc:  # re-raised by the test's thread
                failures.append(exc)

        applying = threading.Thread(target=apply)
        applying.start()
        _wait_until_blocked_by(observer, worker.info.backend_pid, other_worker.info.backend_pid)
        # GroupedOutbox's next group: the acknowledgements of the apply's events, then, while the
        # apply waits for those rows, the admission of other events; one transaction.
        api.execute(text("outbox", "mark_published"), (ids,))
        other_worker.commit()
        _wait_until_blocked_by(observer, worker.info.backend_pid, api.info.backend_pid)
        assert outbox.admit(api, others).new == {e.event_id for e in others}  # commits
        applying.join(DEADLINE_S)
        assert not applying.is_alive(), "the apply did not finish"
        if failures:
            raise failures[0]
        stored = observer.execute(
            "SELECT count(*) FROM (SELECT event_id FROM enrolment_events UNION ALL SELECT event_id FROM conference_events) e"
            " WHERE event_id = ANY(%s)", (ids,)).fetchone()[0]
        assert stored == len(ids)
        left = observer.execute("SELECT count(*) FROM event_outbox WHERE event_id = ANY(%s)", (ids,)).fetchone()[0]
        assert left == 0, f"{left} of the {len(ids)} applied events stayed in the outbox"
        assert outbox.pending(observer) == (len(others), len(others))  # the other group's, untouched


@pytest.mark.parametrize("resent", ["same content", "other content"])
def test_a_copy_admitted_while_an_apply_stores_the_event_is_known_not_new(database_url, resent):
    """An event id re-sent while a worker stores the event: the admission's snapshot does not see
    the stored event yet, and its INSERT no longer meets the outbox row the apply deleted. The
    copy is a duplicate (or a 409), never a new row that no apply will ever delete."""
    key = secrets.token_hex(16)
    pseudonymiser, digest = Pseudonymiser(key), digest_key(key)
    event = _events(1)[0]
    first = outbox_entry(event, datetime.now(UTC), pseudonymiser, digest)
    other = EnrolmentEvent(event.event_id, EnrolmentKind.REGISTERED, MARCH, "87002", AGENT, Scheme.BHXH_BB,
                           event.participant)
    copy = outbox_entry(event if resent == "same content" else other, datetime.now(UTC), pseudonymiser, digest)
    assert (copy.content_digest == first.content_digest) == (resent == "same content")
    _, row = record_row(first.value, pseudonymiser, digest)
    with psycopg.connect(database_url, autocommit=True) as observer, \
            psycopg.connect(database_url) as api, psycopg.connect(database_url) as worker:
        assert outbox.admit(api, [first]).new == {first.event_id}
        worker.execute("SELECT 1")  # a transaction of the test's: the apply below commits with it
        apply_rows(worker, [row], [])  # stored, and its outbox row deleted: not committed yet
        admissions: list[outbox.Admission] = []
        failures: list[BaseException] = []

        def admit_copy() -> None:
            try:
                with psycopg.connect(database_url) as resending:
                    admissions.append(outbox.admit(resending, [copy]))
            except BaseException as exc:  # re-raised by the test's thread
                failures.append(exc)

        admitting = threading.Thread(target=admit_copy)
        admitting.start()
        deadline = time.monotonic() + DEADLINE_S
        while not observer.execute(  # the copy's INSERT waits for the apply's deleted row
                "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid)))",
                (worker.info.backend_pid,)).fetchone()[0]:
            assert time.monotonic() < deadline, "the copy's admission never waited for the apply"
            time.sleep(0.01)
        worker.commit()
        admitting.join(DEADLINE_S)
        assert not admitting.is_alive(), "the admission did not finish"
        if failures:
            raise failures[0]
        (admission,) = admissions
        assert admission.new == frozenset()
        assert admission.known == {event.event_id: first.content_digest}
        assert admission.is_same_event(copy) == (resent == "same content")  # else 409
        assert outbox.pending(observer) == (0, 0)
