"""The fast record decoder against the marshmallow contract: whatever it accepts, the
contract accepts as the same event; valid records take the fast path."""
import json
from datetime import UTC, datetime

from hypothesis import given, settings as hsettings, strategies as st

from eventgen import event_sets
from service.contract.events import decode_record, encode_record, record_dict
from service.contract.fast_body import fast_record
from service.entrypoints.worker import POISON

RECEIVED = datetime(2021, 1, 1, tzinfo=UTC)


def slow(value: bytes):
    try:
        return decode_record(value)
    except POISON:
        return None


@hsettings(max_examples=60, deadline=None)
@given(event_sets())
def test_valid_records_take_the_fast_path_with_the_same_row(events):
    for e in events:
        value = encode_record(e, RECEIVED)
        assert fast_record(value) == slow(value) == e


ODD_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 200_000), st.floats(allow_nan=False), st.text(max_size=14),
    st.sampled_from(["", "12345", "1234", "087080000000", "0000000001", "male", "female", "post_office",
                     "BHXH_BB", "registered", "conference_held", "lapsed", "2020-01-01", "2020-01-01T00:00:00",
                     "2020-01-01T00:00:00Z", "1990-01-01T00:00:00+07:00", "3", "1.0", "poor",
                     "5b2a0ee0-1d6d-4d3a-9f0a-3f2b8ad3f5c1", "{5b2a0ee0-1d6d-4d3a-9f0a-3f2b8ad3f5c1}"]),
    st.sampled_from([{"attendees": 10, "cost_vnd": 0, "organiser": "x"}, {"personal_id": "087080000000"},
                     {"si_number": "0000000001", "sex": "female"}, {"months": 3, "amount_vnd": 10},
                     {"agent_id": "a", "channel": "employer"}]),
    st.dictionaries(st.sampled_from(["months", "amount_vnd", "attendees", "cost_vnd", "organiser", "x"]),
                    st.integers(0, 5), max_size=3),
)
PATHS = [("schema_version",), ("event_id",), ("kind",), ("occurred_at",), ("locality_code",), ("received_at",),
         ("campaign",), ("scheme",), ("agent",), ("agent", "agent_id"), ("agent", "channel"), ("participant",),
         ("participant", "personal_id"), ("participant", "si_number"), ("participant", "sex"),
         ("participant", "birth_year"), ("contribution",), ("contribution", "months"),
         ("contribution", "amount_vnd"), ("contribution", "support_group"), ("conference",),
         ("conference", "attendees"), ("conference", "organiser"), ("extra",), ("participant", "extra")]


@hsettings(max_examples=400, deadline=None)
@given(event_sets(max_participants=2, max_events=3),
       st.lists(st.tuples(st.sampled_from(PATHS), st.one_of(st.just("delete"), ODD_VALUES)), min_size=1, max_size=3))
def test_whatever_the_fast_path_accepts_the_contract_accepts_identically(events, mutations):
    for e in events:
        d = record_dict(e, RECEIVED)
        for path, new in mutations:
            target = d
            for key in path[:-1]:
                target = target.get(key) if isinstance(target, dict) else None
            if not isinstance(target, dict):
                continue
            if new == "delete":
                target.pop(path[-1], None)
            else:
                target[path[-1]] = new
        value = json.dumps(d).encode()
        fast = fast_record(value)
        if fast is not None:
            assert slow(value) == fast
