"""Schemas of the events resource that are not the event contract itself (documentation of
the batch envelope and of the answers; the bodies are built by hand on the hot path)."""
from marshmallow import fields

from ....contract.base import BaseSchema
from ....contract.events import EventBodySchema


class BatchBodySchema(BaseSchema):
    events = fields.List(fields.Nested(EventBodySchema), required=True,
                         metadata={"description": "up to MAX_BATCH_EVENTS events (default 1,000)"})


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


class BatchResultSchema(BaseSchema):
    accepted = fields.Integer()
    rejected = fields.Integer()
    results = fields.List(fields.Nested(ItemResultSchema))
