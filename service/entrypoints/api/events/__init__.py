"""The events resource: POST /v1/events and POST /v1/events/batch."""
from .views import blp

__all__ = ["blp"]
