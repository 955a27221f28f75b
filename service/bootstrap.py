"""The composition root: the one place that turns Settings into wired objects.

Entrypoints call these functions; nothing here runs at import time.
"""
from __future__ import annotations

from .config import Settings


def build_api(settings: Settings):
    """The Flask app with its publisher, pools and reference caches (issue 2)."""
    from .entrypoints.api.app import create_app

    return create_app(settings)


def build_consumer(settings: Settings):
    """The consumer worker pipeline (issue 3)."""
    raise NotImplementedError("wired by the aggregation work (issue 3)")
