"""The published contract grows without breaking its readers: every document the schema
version 1 files accepted before kind `retracted` was added (frozen copies in
contract_before_retractions/) the current files accept, and a retraction is a kind the old
files did not know (an old reader refuses it rather than misreading it as an enrolment)."""
import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from published_schema import ecma_valid, instances, published
from service.contract.jsonschema import BODY_FILE, RECORD_FILE

BEFORE = Path(__file__).resolve().parent / "contract_before_retractions"


def before(name: str) -> dict:
    return json.loads((BEFORE / name).read_text(encoding="utf-8"))


def test_every_document_valid_before_is_valid_now():
    checked = []  # the drawn documents valid before (the strategy lands on both sides of every rule)

    @hsettings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def valid_before_valid_now(data):
        for name in (RECORD_FILE, BODY_FILE):
            old = before(name)
            document = data.draw(instances(old))
            if ecma_valid(old, document):
                checked.append(name)
                assert ecma_valid(published(name), document), (name, document)

    valid_before_valid_now()
    assert checked.count(RECORD_FILE) >= 10 and checked.count(BODY_FILE) >= 10, checked


def test_a_retraction_is_valid_now_and_was_not_before():
    record = {"schema_version": 1, "event_id": "5b2a0ee0-1d6d-4d3a-9f0a-3f2b8ad3f5c1", "kind": "retracted",
              "occurred_at": "2025-08-14T10:00:00+07:00", "locality_code": "00004",
              "received_at": "2025-08-14T10:00:01+07:00",
              "supervisor": {"supervisor_id": "token-7", "provinces": ["01"]},
              "retraction": {"event_id": "6c2a0ee0-1d6d-4d3a-9f0a-3f2b8ad3f5c1", "reason": "did_not_happen"}}
    assert ecma_valid(published(RECORD_FILE), record)
    assert not ecma_valid(before(RECORD_FILE), record)
    with_agent = {**record, "agent": {"agent_id": "agent-1", "channel": "post_office"}}
    assert not ecma_valid(published(RECORD_FILE), with_agent)  # one sender, not two
    del with_agent["supervisor"]
    assert ecma_valid(published(RECORD_FILE), with_agent)
    assert not ecma_valid(published(RECORD_FILE), {**with_agent, "scheme": "BHXH_TN"})
