"""A small locality tree, a second database with its own topics, and the aggregation tests'
event builder (tests/aggregation is a directory of test modules, not a package)."""
from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from service.adapters.kafka.topics import ensure_topics
from service.adapters.postgres.reference import LocalityRow, load_localities
from service.config import Settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "aggregation"))

# Two provinces with three communes each (today's two-level tree under the nation).
TREE = [LocalityRow("VN", "Việt Nam", "nation", None),
        LocalityRow("87", "Tỉnh Đồng Tháp", "province", "VN"), LocalityRow("30", "Tỉnh Hải Dương", "province", "VN"),
        *[LocalityRow(f"87{n:03d}", f"Xã 87{n:03d}", "commune", "87") for n in (1, 2, 3)],
        *[LocalityRow(f"30{n:03d}", f"Xã 30{n:03d}", "commune", "30") for n in (1, 2, 3)]]
COMMUNES = [row.code for row in TREE if row.level == "commune"]
PROVINCES = [row.code for row in TREE if row.level == "province"]


def load_tree(url: str) -> None:
    report = load_localities(url, TREE)
    assert not report.rejected, report.rejected


@pytest.fixture
def other_database_url(pg_server, template_database: str) -> Iterator[str]:
    """A second fresh, migrated database (like `database_url`)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server.url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"')
    yield pg_server.url_for(name)
    with psycopg.connect(pg_server.url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def other_settings(settings: Settings, other_database_url: str) -> Settings:
    """Settings like `settings`, with a database and topics of their own."""
    suffix = uuid.uuid4().hex[:8]
    other = settings.with_(database_url=other_database_url, events_topic=f"events-{suffix}",
                           dead_letter_topic=f"events-{suffix}.dead-letter", consumer_group=f"group-{suffix}")
    ensure_topics(other)
    return other
