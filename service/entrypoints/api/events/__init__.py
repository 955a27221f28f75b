"""The events resource: POST /v1/events, POST /v1/events/batch and POST
/v1/events/{event_id}/retraction."""
from . import retraction  # noqa: F401  (registers its route on blp)
from .views import blp

__all__ = ["blp"]
