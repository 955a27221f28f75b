"""Post through the Flask app, read back from the broker."""
import pytest

from ingestion_helpers import auth, enrolment, read_topic, value

pytestmark = pytest.mark.integration


def test_one_event_round_trip(settings, client, tokens):
    body = enrolment()
    r = client.post("/v1/events", json=body, headers=auth(tokens.agent))
    assert r.status_code == 202, r.json
    (rec,) = read_topic(settings, 1)
    assert value(rec)["event_id"] == body["event_id"]
