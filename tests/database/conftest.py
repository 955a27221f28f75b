"""Analyst logins on the test server, and the aggregation tests' event builder."""
from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from service.adapters.postgres import migrate
from service.adapters.postgres.logins import create_login

from login_helpers import drop_role, login_url

# The event builder of tests/aggregation (a directory of test modules, not a package).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "aggregation"))


@dataclass(frozen=True)
class AnalystLogin:
    name: str
    password: str
    url: str


@pytest.fixture
def migrated_url(database_url: str) -> str:
    """The test's database with `migrate` run on it: a clone of the template has no
    per-database settings (the reporting logins' timeouts) until then."""
    migrate(database_url)
    return database_url


@pytest.fixture
def analyst(migrated_url: str) -> Iterator[AnalystLogin]:
    """A login made by the CLI's code path (`enrolment logins create`)."""
    name, password = f"analyst_{uuid.uuid4().hex[:10]}", uuid.uuid4().hex
    with psycopg.connect(migrated_url) as conn:
        create_login(conn, name, password)
    yield AnalystLogin(name, password, login_url(migrated_url, name, password))
    drop_role(migrated_url, name)
