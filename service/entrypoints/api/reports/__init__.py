"""`/v1/reports/…`: coverage reports for analysts and the dashboard (reporting token)."""
from .views import blp

__all__ = ["blp"]
