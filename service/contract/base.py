"""The project-wide base Schema: unknown fields are an error, never silently dropped."""
from marshmallow import RAISE, Schema


class BaseSchema(Schema):
    class Meta:
        unknown = RAISE
