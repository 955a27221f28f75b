"""The decode step the worker is given: a valid record becomes its store's row, anything else
raises Poison carrying the error its dead letter will say."""
from datetime import UTC, datetime
import uuid

import pytest

from service.adapters.postgres.record_rows import RecordDecoder, record_row
from service.contract.digest import digest_key
from service.contract.events import encode_record
from service.domain.identity import Pseudonymiser
from service.domain.model import ENROLMENT, Agent, Channel, EnrolmentEvent, EnrolmentKind, Participant, Scheme
from service.service_layer.applying import Poison

PSEUDONYMISER, KEY = Pseudonymiser("k" * 32), digest_key("k" * 32)
DECODE = RecordDecoder(PSEUDONYMISER, KEY)


def test_a_valid_record_decodes_to_the_row_record_row_gives():
    event = EnrolmentEvent(
        event_id=uuid.uuid4(), kind=EnrolmentKind.REGISTERED, occurred_at=datetime(2024, 5, 1, tzinfo=UTC),
        locality_code="87001", agent=Agent("agent-1", Channel.POST_OFFICE), scheme=Scheme.BHYT_HGD,
        participant=Participant(personal_id="087190000001"),
    )
    value = encode_record(event, datetime(2024, 5, 2, tzinfo=UTC))
    assert DECODE(value) == record_row(value, PSEUDONYMISER, KEY)
    assert DECODE(value)[0] == ENROLMENT


@pytest.mark.parametrize(("value", "error"), [
    (b"\xff not json", "JSONDecodeError: "),
    (b'{"kind": "registered"}', "contract: "),
    (b"[]", "contract: "),
])
def test_anything_else_raises_poison_with_the_dead_letters_error(value, error):
    with pytest.raises(Poison) as raised:
        DECODE(value)
    assert str(raised.value).startswith(error)
