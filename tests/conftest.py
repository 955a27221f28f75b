"""Shared fixtures: a real PostgreSQL and a real Kafka-protocol broker for integration tests.

Where they come from, in order:
1. the environment: DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS;
2. testcontainers, when a Docker engine answers a ping (PostgreSQL 16, Apache Kafka);
3. otherwise the embedded servers (pgserver's PostgreSQL 16, Tansu) — the path these
   machines take.

Every test that asks for `database_url` gets a fresh, migrated database cloned from a
template; `settings` adds unique topic names and a unique consumer group, so tests never see
each other's data.
"""
from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from service.adapters.kafka.topics import ensure_topics
from service.adapters.embedded import EmbeddedKafka, EmbeddedPostgres
from service.adapters.postgres import migrate
from service.config import Settings


def _docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=2).ping()
        return True
    except Exception:  # no engine, no socket, no client library: all mean "not available"
        return False


@dataclass
class Postgres:
    url: str  # admin URL of the server (database "postgres")
    embedded: EmbeddedPostgres | None  # set when the tests control the server (restart tests)

    def url_for(self, database: str) -> str:
        return psycopg.conninfo.make_conninfo(self.url, dbname=database)

    @contextmanager
    def scratch_database(self, template: str | None = None) -> Iterator[str]:
        """A new database (empty, or cloned from `template`), dropped afterwards: its URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        clone = f' TEMPLATE "{template}"' if template else ""
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"{clone}')
        try:
            yield self.url_for(name)
        finally:
            with psycopg.connect(self.url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Kafka:
    bootstrap_servers: str
    embedded: EmbeddedKafka | None


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory) -> Iterator[Postgres]:
    if os.environ.get("DATABASE_URL"):
        yield Postgres(os.environ["DATABASE_URL"], None)
    elif _docker_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16", driver=None) as container:
            yield Postgres(container.get_connection_url(), None)
    else:
        server = EmbeddedPostgres(tmp_path_factory.mktemp("pgdata")).start()
        try:
            yield Postgres(server.url, server)
        finally:
            server.stop(quiet=True, mode="immediate")


@pytest.fixture(scope="session")
def kafka_server(tmp_path_factory) -> Iterator[Kafka]:
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield Kafka(os.environ["KAFKA_BOOTSTRAP_SERVERS"], None)
    elif _docker_answers():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer().with_kraft() as container:
            yield Kafka(container.get_bootstrap_server(), None)
    else:
        broker = EmbeddedKafka(log_file=tmp_path_factory.mktemp("tansu") / "tansu.log").start()
        try:
            yield Kafka(broker.bootstrap_servers, broker)
        finally:
            broker.stop()


@pytest.fixture(scope="session")
def template_database(pg_server: Postgres) -> str:
    """A database with every migration applied, cloned for each test."""
    name = f"tmpl_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_server.url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    migrate(pg_server.url_for(name))
    return name


@pytest.fixture
def database_url(pg_server: Postgres, template_database: str) -> Iterator[str]:
    with pg_server.scratch_database(template_database) as url:
        yield url


@pytest.fixture
def empty_database_url(pg_server: Postgres) -> Iterator[str]:
    """A new database without migrations (migration and install tests)."""
    with pg_server.scratch_database() as url:
        yield url


@pytest.fixture
def settings(database_url: str, kafka_server: Kafka, tmp_path: Path) -> Settings:
    """Settings for one test: its own database, topics and consumer group."""
    suffix = uuid.uuid4().hex[:8]
    s = Settings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_server.bootstrap_servers,
        data_dir=tmp_path,
        events_topic=f"events-{suffix}",
        dead_letter_topic=f"events-{suffix}.dead-letter",
        topic_partitions=3,
        consumer_group=f"group-{suffix}",
        pseudonym_key=secrets.token_hex(16),
        publish_timeout_s=3.0,
        consumer_max_wait_ms=100,
    )
    ensure_topics(s)
    return s
