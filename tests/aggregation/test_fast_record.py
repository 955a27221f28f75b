"""The fast record decoder against the marshmallow contract: whatever it accepts, the
contract accepts as the same event (enrolments as their plain values); valid records take the
fast path."""
import json
from datetime import UTC, datetime

from hypothesis import given, settings as hsettings, strategies as st

from contract_mutations import BODY_PATHS, FULL_CONFERENCE, FULL_ENROLMENT, ODD_VALUES, mutate, single_mutations
from eventgen import event_sets
from service.contract.events import decode_record, encode_record, record_dict
from service.contract.fast_body import fast_record
from service.domain.identity import Pseudonymiser
from service.domain.model import EnrolmentEvent, PlainEnrolment
from service.adapters.postgres.record_rows import record_row
from service.contract.events import POISON

RECEIVED = datetime(2021, 1, 1, tzinfo=UTC)
PSEUDONYMISER = Pseudonymiser("test-key")


def slow(value: bytes):
    """What the contract makes of a record, in the fast path's terms."""
    try:
        event = decode_record(value)
    except POISON:
        return None
    return PlainEnrolment.of(event) if isinstance(event, EnrolmentEvent) else event


@hsettings(max_examples=60, deadline=None)
@given(event_sets())
def test_valid_records_take_the_fast_path_as_the_same_event(events):
    for e in events:
        value = encode_record(e, RECEIVED)
        assert fast_record(value) == slow(value) == (PlainEnrolment.of(e) if isinstance(e, EnrolmentEvent) else e)


# The body's paths and the envelope's.
PATHS = BODY_PATHS + [("schema_version",), ("received_at",), ("agent", "agent_id"), ("agent", "channel")]


@hsettings(max_examples=400, deadline=None)
@given(event_sets(max_participants=2, max_events=3),
       st.lists(st.tuples(st.sampled_from(PATHS), st.one_of(st.just("delete"), ODD_VALUES)), min_size=1, max_size=3))
def test_whatever_the_fast_path_accepts_the_contract_accepts_identically(events, mutations):
    for e in events:
        d = mutate(record_dict(e, RECEIVED), mutations)
        value = json.dumps(d).encode()
        fast = fast_record(value)
        if fast is not None:
            assert slow(value) == fast
            assert_same_row(value)


def test_every_odd_value_at_every_path_of_full_records():
    for document in (FULL_ENROLMENT, FULL_CONFERENCE):
        record = {**document, "schema_version": 1, "agent": {"agent_id": "a-1", "channel": "post_office"},
                  "received_at": "2025-08-12T03:00:00+00:00"}
        assert fast_record(json.dumps(record).encode()) == slow(json.dumps(record).encode()) is not None
        for mutation in single_mutations(PATHS):
            value = json.dumps(mutate(record, [mutation])).encode()
            fast = fast_record(value)
            if fast is not None:
                assert slow(value) == fast, mutation
                assert_same_row(value)


def assert_same_row(value: bytes):
    """The worker skips its storability check (NUL in text, numbers past bigint) on the fast
    path: what the fast path accepts must pass it, as the same staging row."""
    assert record_row(value, PSEUDONYMISER) == record_row(value, PSEUDONYMISER, fast=False)
