"""JSON logs never carry a personal id or an SI number."""
import io
import json
import logging

import pytest

from ingestion_helpers import auth, enrolment
from service.entrypoints.logs import configure_logging, redact

PERSONAL_ID = "001188012345"
SI_NUMBER = "0123456789"


def test_redact_masks_id_shaped_digit_runs_only():
    assert redact(f"pid {PERSONAL_ID} si {SI_NUMBER} commune 00004 ts 2025-08-12") == \
        "pid [redacted] si [redacted] commune 00004 ts 2025-08-12"


@pytest.fixture
def captured_logs():
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    configure_logging("DEBUG", stream)
    yield stream
    for h in list(root.handlers):
        root.removeHandler(h)
    for h in saved[0]:
        root.addHandler(h)
    root.setLevel(saved[1])


@pytest.mark.integration
def test_requests_with_personal_ids_log_nothing_containing_them(settings, client, tokens, captured_logs):
    participant = {"personal_id": PERSONAL_ID, "si_number": SI_NUMBER, "sex": "female", "birth_year": 1988}
    accepted = client.post("/v1/events", json=enrolment(participant=participant), headers=auth(tokens.agent))
    contradiction = {**participant, "sex": "male"}
    rejected = client.post("/v1/events", json=enrolment(participant=contradiction), headers=auth(tokens.agent))
    batch = client.post("/v1/events/batch", headers=auth(tokens.agent), json={"events": [
        enrolment(participant=participant), enrolment(participant=contradiction, locality_code="99999")]})
    assert (accepted.status_code, rejected.status_code, batch.status_code) == (202, 422, 207)

    lines = captured_logs.getvalue().splitlines()
    records = [json.loads(line) for line in lines]
    assert any(r["msg"] == "event rejected" for r in records)  # the requests were logged...
    assert any(r["msg"] == "request" and r.get("status") == 202 for r in records)
    text = captured_logs.getvalue()
    assert PERSONAL_ID not in text and SI_NUMBER not in text  # ...without the ids
    assert "[redacted]" not in text  # not even masked: nothing tried to log them
