"""A second database with its own topics, and the aggregation tests' event builder
(tests/aggregation is a directory of test modules, not a package)."""
from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.adapters.kafka.topics import ensure_topics
from service.config import Settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "aggregation"))


@pytest.fixture
def other_database_url(pg_server, template_database: str) -> Iterator[str]:
    """A second fresh, migrated database (like `database_url`)."""
    with pg_server.scratch_database(template_database) as url:
        yield url


@pytest.fixture
def other_settings(settings: Settings, other_database_url: str) -> Settings:
    """Settings like `settings`, with a database and topics of their own."""
    suffix = uuid.uuid4().hex[:8]
    other = settings.with_(database_url=other_database_url, events_topic=f"events-{suffix}",
                           dead_letter_topic=f"events-{suffix}.dead-letter", consumer_group=f"group-{suffix}")
    ensure_topics(other)
    return other
