"""The composition root: the one place that turns Settings into wired objects.

Entrypoints call these functions; nothing here runs at import time.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

from .config import Settings

if TYPE_CHECKING:
    import psycopg
    from flask import Flask
    from psycopg_pool import ConnectionPool

    from .entrypoints.api.resources import Ingestion, Resources
    from .service_layer.reporting import ReportStore

P = ParamSpec("P")
R = TypeVar("R")


def build_api(settings: Settings, *, publisher=None, pool=None, clock=None) -> Flask:
    """The Flask app (issue 2) with its collaborators (`build_api_resources`). `publisher`,
    `pool` and `clock` replace the defaults (tests, benchmarks)."""
    from .entrypoints.api.app import create_app

    return create_app(settings, build_api_resources(settings, publisher=publisher, pool=pool, clock=clock))


def build_api_resources(settings: Settings, *, publisher=None, pool=None, clock=None) -> Resources:
    """The API's collaborators, wired here once. The pool, the producer and the ingestion's
    state are made on first use in each process (gunicorn forks its workers after importing,
    and kafka-python's producer threads must start after the fork); every port that reads the
    database takes a connection of that process's pool when called."""
    from .adapters.kafka.publisher import KafkaPublisher
    from .adapters.postgres import known_events, make_pool, reference, tokens
    from .adapters.postgres.pool import answers
    from .entrypoints.api.auth import FAILED_LOOKUPS_PER_MINUTE, Authenticator
    from .entrypoints.api.ratelimit import RateLimiter
    from .entrypoints.api.resources import ProcessLocal, Resources, utc_now

    # Few connections: the hot path reads the database only on cache misses.
    pools = ProcessLocal(lambda: pool or make_pool(settings.database_url, max_size=8, name="api"))
    return Resources(
        settings,
        pool=pools,
        publisher=ProcessLocal(lambda: publisher or KafkaPublisher(settings)),
        clock=clock or utc_now,
        authenticator=Authenticator(_on_pooled_connection(pools.get, tokens.lookup), settings.auth_cache_ttl_s),
        rate_limiter=RateLimiter(settings.rate_limit_per_minute),
        failed_lookups=RateLimiter(FAILED_LOOKUPS_PER_MINUTE),
        ingestion=ProcessLocal(lambda: build_ingestion(settings, pools.get)),
        known_events=_on_pooled_connection(pools.get, known_events.find),
        reports=_report_store(pools.get),
        load_denominators=_on_pooled_connection(pools.get, reference.load_denominators),
        load_targets=_on_pooled_connection(pools.get, reference.load_targets),
        check_database=lambda timeout_s: answers(pools.get(), timeout_s),  # raises DatabaseUnavailable
    )


def build_ingestion(settings: Settings, pool: Callable[[], ConnectionPool]) -> Ingestion:
    """The events resource's state, built in the process that uses it (`Resources.ingestion`):
    the API's checks with their reference caches, the pseudonymiser and the grouped outbox."""
    import psycopg

    from .adapters.postgres.communes import commune_provinces
    from .adapters.postgres.contribution_rules import read_rules
    from .adapters.postgres.outbox import GroupedOutbox
    from .contract.digest import digest_key
    from .domain.identity import Pseudonymiser
    from .entrypoints.api.events.checks import EventChecks, Refreshing
    from .entrypoints.api.resources import Ingestion

    ttl = settings.reference_refresh_s
    return Ingestion(
        checks=EventChecks(Refreshing(_on_pooled_connection(pool, commune_provinces), ttl),
                           Refreshing(_on_pooled_connection(pool, read_rules), ttl), settings.max_clock_skew_s),
        pseudonymiser=Pseudonymiser(settings.pseudonym_key),
        digest_key=digest_key(settings.pseudonym_key),
        outbox=GroupedOutbox(lambda: psycopg.connect(settings.database_url, connect_timeout=3,
                                                     application_name="enrolment-api-outbox"),
                             timeout_s=settings.publish_timeout_s),
    )


def _on_pooled_connection(pool: Callable[[], ConnectionPool],
                          query: Callable[Concatenate[psycopg.Connection, P], R]) -> Callable[P, R]:
    """`query` with its connection taken from the pool for each call (committed after it);
    an outage is DatabaseUnavailable."""
    from .adapters.postgres.pool import outage_is_unavailable

    def on_connection(*args: P.args, **kwargs: P.kwargs) -> R:
        with outage_is_unavailable(), pool().connection() as conn:
            return query(conn, *args, **kwargs)
    return on_connection


def _report_store(pool: Callable[[], ConnectionPool]) -> Callable[[], AbstractContextManager[ReportStore]]:
    """`with store() as reports:` the report queries on one connection of the pool; an outage
    is DatabaseUnavailable."""
    from .adapters.postgres.pool import outage_is_unavailable
    from .adapters.postgres.reports import ConnectionReportStore

    @contextmanager
    def store() -> Iterator[ReportStore]:
        with outage_is_unavailable(), pool().connection() as conn:
            yield ConnectionReportStore(conn)
    return store


def build_consumer(settings: Settings, metrics=None):
    """The consumer worker (issue 3) with its Kafka consumer, dead-letter writer, store (its own
    database connections), retry policy and metrics (made here, or passed in), served on
    settings.worker_metrics_port."""
    import psycopg
    from kafka.errors import KafkaError

    from .adapters.kafka.consumer import DeadLetterWriter, make_consumer
    from .adapters.postgres.batch_store import PostgresBatchStore
    from .adapters.postgres.record_rows import RecordDecoder
    from .contract.digest import digest_key
    from .domain.identity import Pseudonymiser
    from .entrypoints.worker import Worker
    from .entrypoints.worker_metrics import ConsumerMetrics
    from .service_layer.retrying import Retry

    def connect() -> psycopg.Connection:
        return psycopg.connect(settings.database_url, connect_timeout=5, application_name="enrolment-worker")

    metrics = metrics or ConsumerMetrics()
    metrics.serve(settings.worker_metrics_port, settings.worker_metrics_host)
    # Transient: the same for every record (errors of one record's content are handled before).
    retry = Retry(transient=(psycopg.Error, KafkaError))
    decode = RecordDecoder(Pseudonymiser(settings.pseudonym_key), digest_key(settings.pseudonym_key))
    return Worker(settings, make_consumer(settings, group_id=settings.consumer_group), decode,
                  DeadLetterWriter(settings), PostgresBatchStore(connect, settings.consumer_group), retry, metrics)


def build_relay(settings: Settings):
    """The outbox relay, with its own producer, outbox connection and topic set-up."""
    import psycopg
    from kafka.errors import KafkaError

    from .adapters.kafka.publisher import KafkaPublisher
    from .adapters.kafka.topics import ensure_topics
    from .adapters.postgres.outbox import RelayOutbox
    from .entrypoints.relay import Relay
    from .service_layer.ingestion import PublishUnavailable

    def ensure() -> None:
        try:
            ensure_topics(settings)
        except KafkaError as exc:
            raise PublishUnavailable(f"cannot ensure the topics: {type(exc).__name__}") from exc

    outbox = RelayOutbox(lambda: psycopg.connect(settings.database_url, connect_timeout=5,
                                                 application_name="enrolment-relay"))
    return Relay(settings, KafkaPublisher(settings), outbox, ensure)


@contextmanager
def build_rebuild(settings: Settings, *, from_topic: bool = False, from_file: Path | None = None):
    """(target, source, decode) for service_layer.rebuild: a fresh rebuild schema (dropped on
    exit, swapped in or not) and the event store, the events topic or a JSON-lines file; the
    decode step is the worker's (`RecordDecoder`)."""
    from .adapters.jsonlines import JsonLinesFile
    from .adapters.kafka.topic_records import TopicRecords
    from .adapters.postgres import migrate
    from .adapters.postgres.rebuild import RebuildTables, StoredEvents, create_rebuild_schema, drop_rebuild_schema
    from .contract.digest import digest_key
    from .domain.identity import Pseudonymiser
    from .adapters.postgres.record_rows import RecordDecoder
    from .service_layer.rebuild import RecordSource

    migrate(settings.database_url)
    schema = create_rebuild_schema(settings.database_url)
    closers = []
    try:
        target = RebuildTables(settings.database_url, schema, settings.consumer_group)
        closers.append(target.close)
        source: RecordSource
        if from_file is not None:
            source = JsonLinesFile(from_file, settings.consumer_max_batch)
        elif from_topic:
            topic = TopicRecords(settings)
            closers.append(topic.close)
            source = topic
        else:
            source = StoredEvents(settings.database_url, schema, settings.consumer_max_batch)
        decode = RecordDecoder(Pseudonymiser(settings.pseudonym_key), digest_key(settings.pseudonym_key))
        yield target, source, decode
    finally:
        for close in reversed(closers):
            close()
        drop_rebuild_schema(settings.database_url, schema)


# The command line's collaborators (service/entrypoints/cli/).


def build_stack_database(database_url: str, status_timeout_s: float = 3.0):
    """The database side of `migrate`, `run` and `status`, and of the migration `worker` and
    `relay` run at their start."""
    from .adapters.postgres.stack import StackDatabase

    return StackDatabase(database_url, status_timeout_s)


def contribution_rules_file() -> Path:
    """The contribution rules every installation starts with (the seeds CSV)."""
    from .adapters.postgres.contribution_rules import SEED_FILE

    return SEED_FILE


def build_topic_setup(settings: Settings):
    """Creates the events and dead-letter topics (or adds partitions) when called."""
    from functools import partial

    from .adapters.kafka.topics import ensure_topics

    return partial(ensure_topics, settings)


def build_acl_grant(settings: Settings):
    """Grants the producer's, consumer's and reader's ACLs when called; returns how many."""
    from functools import partial

    from .adapters.kafka.access import create_acls

    return partial(create_acls, settings)


def build_status_sources(settings: Settings, api_base_url: str | None, timeout_s: float,
                         worker_restarts: dict[int, int]):
    """service_layer.stack.StatusSources: what is configured is checked, the API unless
    `api_base_url` is None."""
    from .adapters.api_health import ApiHealth
    from .adapters.kafka.access import client_options
    from .adapters.kafka.watermarks import TopicWatermarks
    from .service_layer.stack import StatusSources

    return StatusSources(
        api=ApiHealth(api_base_url, timeout_s) if api_base_url else None,
        database=build_stack_database(settings.database_url, timeout_s) if settings.database_url else None,
        broker=TopicWatermarks(settings.kafka_bootstrap_servers, timeout_s, **client_options(settings))
        if settings.kafka_bootstrap_servers else None,
        consumer_group=settings.consumer_group, events_topic=settings.events_topic,
        dead_letter_topic=settings.dead_letter_topic, worker_restarts=worker_restarts)


def build_embedded_postgres(data_dir: Path):
    """A PostgreSQL 16 server in `data_dir` (started by the caller)."""
    from .adapters.embedded import EmbeddedPostgres

    return EmbeddedPostgres(data_dir)


def build_embedded_broker(log_file: Path):
    """A Kafka-protocol broker (Tansu), memory only (started by the caller)."""
    from .adapters.embedded import EmbeddedKafka

    return EmbeddedKafka(log_file=log_file)


def build_dead_letter_topic(settings: Settings):
    """The dead-letter topic: read every dead letter, publish records again to the events topic."""
    from .adapters.kafka.dead_letter_topic import DeadLetterTopic

    return DeadLetterTopic(settings)


def build_record_key(settings: Settings):
    """value -> the key the API gives the record (None when it does not decode): a fixed dead
    letter is published under the key of its participant, as the API would."""
    from .contract.topic_record import record_key
    from .contract.events import POISON, decode_record
    from .domain.identity import Pseudonymiser

    pseudonymiser = Pseudonymiser(settings.pseudonym_key)

    def key_of(value: bytes) -> bytes | None:
        try:
            return record_key(decode_record(value), pseudonymiser)
        except POISON:
            return None  # still broken: the worker dead-letters it again

    return key_of


@contextmanager
def build_token_store(database_url: str):
    """adapters.postgres.tokens.TokenStore on a connection of its own: committed when the
    `with` ends, rolled back on an exception."""
    import psycopg

    from .adapters.postgres.tokens import TokenStore

    with psycopg.connect(database_url) as conn:
        yield TokenStore(conn)


def build_token_lookup(database_url: str):
    """token -> its Principal (None: malformed, unknown or revoked), a connection per call; a
    malformed token is refused without one."""
    import psycopg

    from .adapters.postgres.tokens import lookup
    from .domain.access import hash_token, well_formed

    def find(token: str):
        if not well_formed(token):
            return None
        with psycopg.connect(database_url) as conn:
            return lookup(conn, hash_token(token))

    return find


def build_reference_files(database_url: str):
    """The reference data loaders of `enrolment reference` (adapters.postgres.reference.ReferenceFiles)."""
    from .adapters.postgres.reference import ReferenceFiles

    return ReferenceFiles(database_url)


def build_agent_client_factory(base_url: str):
    """Makes an HTTP client of the agents' API at `base_url` (one per simulator thread)."""
    from functools import partial

    from .adapters.agent_api import AgentApiClient

    return partial(AgentApiClient, base_url)


@contextmanager
def build_login_store(database_url: str):
    """adapters.postgres.logins.LoginStore on a connection of its own: committed when the
    `with` ends, rolled back on an exception."""
    import psycopg

    from .adapters.postgres.logins import LoginStore

    with psycopg.connect(database_url) as conn:
        yield LoginStore(conn)


@contextmanager
def build_topic_records(settings: Settings):
    """The events topic read from offset zero without a consumer group (closed on exit)."""
    from .adapters.kafka.topic_records import TopicRecords

    topic = TopicRecords(settings)
    try:
        yield topic
    finally:
        topic.close()


def build_demo_loader(settings: Settings, base_url: str):
    """service_layer.demo.load_demo with its collaborators, to be called with `progress=`: the
    reference loaders and the demo's seed files, the token store, and the API's agent clients at
    `base_url` (a longer timeout than the simulator's: a demo batch holds up to max_batch_events)."""
    from functools import partial

    from .adapters.postgres.reference import DEMO_SEEDS
    from .service_layer.demo import load_demo

    return partial(load_demo, build_reference_files(settings.database_url), DEMO_SEEDS,
                   partial(build_token_store, settings.database_url),
                   partial(build_agent_client_factory(base_url), timeout_s=30),
                   batch_size=settings.max_batch_events)
