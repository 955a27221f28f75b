"""Schemas of the events resource that are not the event contract itself (documentation of
the batch envelope and of the answers; the bodies are built by hand on the hot path)."""
from marshmallow import fields, validate

from ....contract.base import BaseSchema
from ....config import Settings
from ....contract.events import CanonicalUUID, DateTime, EventBodySchema, retraction_note, retraction_reason


class BatchBodySchema(BaseSchema):
    # documentation only (the view checks the configured bound): the default MAX_BATCH_EVENTS
    events = fields.List(fields.Nested(EventBodySchema), required=True,
                         validate=validate.Length(min=1, max=Settings.max_batch_events),
                         metadata={"description": "1 to MAX_BATCH_EVENTS events (default 1,000)"})


class ViolationSchema(BaseSchema):
    field = fields.String(metadata={"description": "dotted path in the body, e.g. participant.personal_id"})
    rule = fields.String(metadata={"description": "machine-readable rule name"})
    message = fields.String()


class ProblemSchema(BaseSchema):
    """RFC 9457 problem details."""

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.List(fields.Nested(ViolationSchema))


class AcceptedSchema(BaseSchema):
    event_id = fields.UUID()
    status = fields.String(metadata={"description": "accepted"})


class ItemResultSchema(BaseSchema):
    index = fields.Integer()
    event_id = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "accepted or rejected"})
    errors = fields.List(fields.Nested(ViolationSchema))


class RetractionRequestSchema(BaseSchema):
    """Body of POST /v1/events/{event_id}/retraction: the event to retract is in the path."""

    event_id = CanonicalUUID(required=True, metadata={
        "description": "this retraction's own id (client-generated idempotency key), not the retracted event's"})
    reason = retraction_reason()
    note = retraction_note()
    occurred_at = DateTime(required=True, metadata={
        "description": "when the correction was made, RFC 3339 with a UTC offset (part of the content: a re-sent "
                       "retraction carries the same)"})


class RetractionAcceptedSchema(BaseSchema):
    event_id = fields.UUID(metadata={"description": "the retraction's id"})
    retracts = fields.UUID(metadata={"description": "the retracted event's id"})
    status = fields.String(metadata={"description": "accepted"})


class BatchResultSchema(BaseSchema):
    accepted = fields.Integer()
    rejected = fields.Integer()
    results = fields.List(fields.Nested(ItemResultSchema))
