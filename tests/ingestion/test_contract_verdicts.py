"""The published JSON Schema and the service give the same verdict on every document: bodies
and topic records drawn from the published files, with odd values put at every field, are
judged by an ECMA-262 validator of the files (what a downstream reader runs) and by the
contract (marshmallow, and the fast paths where they answer). They may differ only by the
rules the files state in words because JSON Schema cannot (`BEYOND_JSON_SCHEMA`), which are
re-implemented here independently."""
from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, example, given, settings as hsettings, strategies as st
from marshmallow import ValidationError

from contract_mutations import BODY_PATHS, ODD_VALUES, mutate
from published_schema import ecma_valid, instances, published
from service.contract.events import EventBodySchema, TopicRecordSchema
from service.contract.fast_body import fast_body, fast_record
from service.contract.jsonschema import BODY_FILE, RECORD_FILE

BODY, RECORD = published(BODY_FILE), published(RECORD_FILE)
RECORD_PATHS = BODY_PATHS + [("schema_version",), ("received_at",), ("agent", "agent_id"), ("agent", "channel")]
SETTINGS = hsettings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _walk(value):
    yield value
    if isinstance(value, dict):
        for v in value.values():
            yield from _walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v)


def beyond_json_schema_ok(document) -> bool:
    """The rules the published files state in words, written again from their text."""
    if any(type(v) is float for v in _walk(document)):  # integers without fraction or exponent
        return False
    participant = document.get("participant") if isinstance(document, dict) else None
    pid = participant.get("personal_id") if isinstance(participant, dict) else None
    if isinstance(pid, str) and len(pid) == 12:
        digit = int(pid[3])
        if "sex" in participant and participant["sex"] != ("female" if digit % 2 else "male"):
            return False
        if "birth_year" in participant and participant["birth_year"] != 1900 + 100 * (digit // 2) + int(pid[4:6]):
            return False
    retraction = document.get("retraction") if isinstance(document, dict) else None
    if isinstance(retraction, dict) and isinstance(retraction.get("event_id"), str) \
            and isinstance(document.get("event_id"), str) \
            and retraction["event_id"].lower() == document["event_id"].lower():
        return False  # a retraction's retraction.event_id is not its own event_id (as UUIDs)
    return True


def contract_accepts(schema, document) -> bool:
    try:
        schema.load(document)
    except ValidationError:
        return False
    return True


def check(document, schema, file, fast):
    wire = json.loads(json.dumps(document))  # what a JSON parser hands over
    expected = ecma_valid(file, wire) and beyond_json_schema_ok(wire)
    assert contract_accepts(schema, wire) == expected, wire
    fast_result = fast(wire)
    if fast_result is not None:
        assert expected, wire


def fast_record_of(document):
    return fast_record(json.dumps(document).encode())  # json: integers beyond 64 bits too


SELF_RETRACTION = {"event_id": "00000000-0000-0000-0000-000000000000", "kind": "retracted",
                   "occurred_at": "1995-01-01T00:00:00Z", "locality_code": "00000",
                   "retraction": {"event_id": "00000000-0000-0000-0000-000000000000", "reason": "wrong_person"}}


@SETTINGS
@example(SELF_RETRACTION, [])  # valid JSON Schema, refused by a rule stated in words
@given(instances(BODY), st.lists(st.tuples(st.sampled_from(BODY_PATHS), st.one_of(st.just("delete"), ODD_VALUES)),
                                 max_size=2))
def test_bodies_drawn_from_the_published_schema_get_its_verdict(document, mutations):
    check(mutate(document, mutations), EventBodySchema(), BODY, fast_body)


@SETTINGS
@given(instances(RECORD), st.lists(st.tuples(st.sampled_from(RECORD_PATHS), st.one_of(st.just("delete"), ODD_VALUES)),
                                   max_size=2))
def test_records_drawn_from_the_published_schema_get_its_verdict(document, mutations):
    check(mutate(document, mutations), TopicRecordSchema(), RECORD, fast_record_of)


@pytest.mark.parametrize("file", [BODY, RECORD], ids=["body", "record"])
def test_the_strategies_reach_both_verdicts(file):
    # A differential test whose documents were all valid (or all invalid) would prove nothing.
    seen = set()

    @hsettings(max_examples=200, deadline=None)
    @given(instances(file))
    def sample(document):
        seen.add(ecma_valid(file, document) and beyond_json_schema_ok(document))

    sample()
    assert seen == {True, False}


def test_the_validator_reads_patterns_as_ecma_262():
    body = {"event_id": "5b2a0ee0-1d6d-4d3a-9f0a-3f2b8ad3f5c1", "kind": "renewed", "occurred_at": "2025-08-12T09:30:00Z",
            "locality_code": "00070", "scheme": "BHTN", "participant": {"si_number": "0123456789"}}
    assert ecma_valid(BODY, body)
    assert not ecma_valid(BODY, {**body, "participant": {"si_number": "0123456789\n"}})
    assert not ecma_valid(BODY, {**body, "occurred_at": "2025-02-29T09:30:00Z"})
    assert ecma_valid(BODY, {**body, "occurred_at": "2024-02-29T09:30:00.123456-11:30"})
