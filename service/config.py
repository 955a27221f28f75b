"""All configuration, read from the environment in this one place.

Nothing here has side effects: `Settings.from_env()` is called by the composition root
(`service.bootstrap`) and by entrypoints, never at import time.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from exc


def _float(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number, got {raw!r}") from exc


STACK_FILE = "stack.env"  # written by `enrolment run` while it runs (0600), removed at its stop
KEY_FILE = "pseudonym.key"  # the embedded stack's pseudonym key, generated once (0600)


def _read_env_file(path: Path) -> dict[str, str]:
    """NAME=value lines; nothing when the file is absent."""
    if not path.is_file():
        return {}
    pairs = (line.split("=", 1) for line in path.read_text(encoding="utf-8").splitlines() if "=" in line)
    return {name.strip(): value for name, value in pairs if name.strip() and not name.startswith("#")}


@dataclass(frozen=True)
class Settings:
    # Where things live. Empty URLs mean "start the embedded server" (entrypoints/cli run).
    database_url: str = ""
    kafka_bootstrap_servers: str = ""
    data_dir: Path = Path(".data")

    # Kafka topics and their shape.
    events_topic: str = "enrolment-events.v1"
    dead_letter_topic: str = "enrolment-events.v1.dead-letter"
    topic_partitions: int = 6
    topic_replication_factor: int = 1
    # How long the topics keep records (ms; -1 = for ever). Raw personal ids are on the events
    # topic: docker-compose sets a finite retention (the event store is the system of record).
    topic_retention_ms: int = -1

    # How this process authenticates to Kafka (docs/operations.md, "Kafka access"): PLAINTEXT
    # (the embedded broker, loopback only) or SASL_PLAINTEXT / SASL_SSL with PLAIN or SCRAM.
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str = "PLAIN"
    kafka_sasl_username: str = ""
    kafka_sasl_password: str = ""
    # Who may do what (the ACLs `enrolment migrate --kafka-acls` grants): the API and relay
    # produce, the worker group consumes, downstream readers read with groups of a prefix.
    kafka_producer_principal: str = "api"
    kafka_consumer_principal: str = "worker"
    kafka_reader_principal: str = "reader"
    kafka_reader_group_prefix: str = "downstream-"

    # Producer (API side). acks=all and idempotence are explicit even though they are the
    # kafka-python 3 defaults (so a reader need not know the defaults).
    publish_timeout_s: float = 5.0
    producer_linger_ms: int = 2
    # The outbox relay (docs/durability.md): how often it looks; how long a row may wait for the
    # API's own publish before the relay publishes it; after how long an acknowledged row that
    # no consumer has applied is published again (a safety net: broker resets are recorded).
    relay_interval_s: float = 1.0
    relay_grace_s: float = 10.0
    relay_stale_s: float = 900.0

    # Consumer (worker side). Short session/heartbeat: Tansu holds JoinGroup for about half of
    # session_timeout_ms (23 s at kafka-python's default 45 s).
    consumer_group: str = "coverage-aggregator"
    consumer_session_timeout_ms: int = 6000
    consumer_heartbeat_interval_ms: int = 2000
    consumer_max_batch: int = 20000
    consumer_max_wait_ms: int = 200
    # Prometheus metrics of a consumer worker (prometheus_client's HTTP server); 0 = off.
    worker_metrics_port: int = 9108
    worker_metrics_host: str = "127.0.0.1"
    # The largest record the topics take (their max.message.bytes) and the dead-letter
    # producer sends (plus room for the error headers): every record can be dead-lettered.
    max_record_bytes: int = 8 * 1024 * 1024

    # Pseudonymisation key for personal ids (HMAC). Required; the embedded runner generates
    # one into the data dir on first start.
    pseudonym_key: str = ""

    # HTTP API.
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    web_workers: int = 2
    # Open connections a gevent worker serves at once. Each request waits for the broker's
    # ack; while it waits the worker serves others (docs/ingestion.md, "Serving").
    web_connections: int = 1000
    max_body_bytes: int = 2 * 1024 * 1024
    max_batch_events: int = 1000
    rate_limit_per_minute: int = 6000
    max_clock_skew_s: int = 300
    # How long a worker trusts a token lookup (a revoked token keeps working that long) and
    # its commune list / contribution rules before reading them again.
    auth_cache_ttl_s: float = 10.0
    reference_refresh_s: float = 60.0

    log_level: str = "INFO"
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, *, running_stack: bool = True) -> "Settings":
        """Settings from the environment. With `running_stack`, beneath it what `enrolment run`
        wrote to DATA_DIR for the stack it runs (STACK_FILE: servers, ports, topics) and the
        pseudonym key it keeps there, so that every other command finds them with no exports;
        the runner itself reads only the environment."""
        env = dict(os.environ if env is None else env)
        d = cls()
        if running_stack:
            data_dir = Path(env.get("DATA_DIR") or d.data_dir)
            env = {**_read_env_file(data_dir / STACK_FILE), **env}
            if not env.get("PSEUDONYM_KEY") and (data_dir / KEY_FILE).is_file():
                env["PSEUDONYM_KEY"] = (data_dir / KEY_FILE).read_text().strip()
        return cls(
            database_url=env.get("DATABASE_URL", d.database_url),
            kafka_bootstrap_servers=env.get("KAFKA_BOOTSTRAP_SERVERS", d.kafka_bootstrap_servers),
            data_dir=Path(env.get("DATA_DIR", str(d.data_dir))),
            events_topic=env.get("EVENTS_TOPIC", d.events_topic),
            dead_letter_topic=env.get("DEAD_LETTER_TOPIC", d.dead_letter_topic),
            topic_partitions=_int(env, "TOPIC_PARTITIONS", d.topic_partitions),
            topic_replication_factor=_int(env, "TOPIC_REPLICATION_FACTOR", d.topic_replication_factor),
            topic_retention_ms=_int(env, "TOPIC_RETENTION_MS", d.topic_retention_ms),
            kafka_security_protocol=env.get("KAFKA_SECURITY_PROTOCOL", d.kafka_security_protocol),
            kafka_sasl_mechanism=env.get("KAFKA_SASL_MECHANISM", d.kafka_sasl_mechanism),
            kafka_sasl_username=env.get("KAFKA_SASL_USERNAME", d.kafka_sasl_username),
            kafka_sasl_password=env.get("KAFKA_SASL_PASSWORD", d.kafka_sasl_password),
            kafka_producer_principal=env.get("KAFKA_PRODUCER_PRINCIPAL", d.kafka_producer_principal),
            kafka_consumer_principal=env.get("KAFKA_CONSUMER_PRINCIPAL", d.kafka_consumer_principal),
            kafka_reader_principal=env.get("KAFKA_READER_PRINCIPAL", d.kafka_reader_principal),
            kafka_reader_group_prefix=env.get("KAFKA_READER_GROUP_PREFIX", d.kafka_reader_group_prefix),
            publish_timeout_s=_float(env, "PUBLISH_TIMEOUT_S", d.publish_timeout_s),
            producer_linger_ms=_int(env, "PRODUCER_LINGER_MS", d.producer_linger_ms),
            relay_interval_s=_float(env, "RELAY_INTERVAL_S", d.relay_interval_s),
            relay_grace_s=_float(env, "RELAY_GRACE_S", d.relay_grace_s),
            relay_stale_s=_float(env, "RELAY_STALE_S", d.relay_stale_s),
            consumer_group=env.get("CONSUMER_GROUP", d.consumer_group),
            consumer_session_timeout_ms=_int(env, "CONSUMER_SESSION_TIMEOUT_MS", d.consumer_session_timeout_ms),
            consumer_heartbeat_interval_ms=_int(env, "CONSUMER_HEARTBEAT_INTERVAL_MS", d.consumer_heartbeat_interval_ms),
            consumer_max_batch=_int(env, "CONSUMER_MAX_BATCH", d.consumer_max_batch),
            consumer_max_wait_ms=_int(env, "CONSUMER_MAX_WAIT_MS", d.consumer_max_wait_ms),
            worker_metrics_port=_int(env, "WORKER_METRICS_PORT", d.worker_metrics_port),
            worker_metrics_host=env.get("WORKER_METRICS_HOST", d.worker_metrics_host),
            max_record_bytes=_int(env, "MAX_RECORD_BYTES", d.max_record_bytes),
            pseudonym_key=env.get("PSEUDONYM_KEY", d.pseudonym_key),
            api_host=env.get("API_HOST", d.api_host),
            api_port=_int(env, "API_PORT", d.api_port),
            web_workers=_int(env, "WEB_WORKERS", d.web_workers),
            web_connections=_int(env, "WEB_CONNECTIONS", d.web_connections),
            max_body_bytes=_int(env, "MAX_BODY_BYTES", d.max_body_bytes),
            max_batch_events=_int(env, "MAX_BATCH_EVENTS", d.max_batch_events),
            rate_limit_per_minute=_int(env, "RATE_LIMIT_PER_MINUTE", d.rate_limit_per_minute),
            max_clock_skew_s=_int(env, "MAX_CLOCK_SKEW_S", d.max_clock_skew_s),
            auth_cache_ttl_s=_float(env, "AUTH_CACHE_TTL_S", d.auth_cache_ttl_s),
            reference_refresh_s=_float(env, "REFERENCE_REFRESH_S", d.reference_refresh_s),
            log_level=env.get("LOG_LEVEL", d.log_level),
        )

    def to_env(self) -> dict[str, str]:
        """The environment that reproduces these settings in a child process."""
        return {
            "DATABASE_URL": self.database_url,
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap_servers,
            "DATA_DIR": str(self.data_dir),
            "EVENTS_TOPIC": self.events_topic,
            "DEAD_LETTER_TOPIC": self.dead_letter_topic,
            "TOPIC_PARTITIONS": str(self.topic_partitions),
            "TOPIC_REPLICATION_FACTOR": str(self.topic_replication_factor),
            "TOPIC_RETENTION_MS": str(self.topic_retention_ms),
            "KAFKA_SECURITY_PROTOCOL": self.kafka_security_protocol,
            "KAFKA_SASL_MECHANISM": self.kafka_sasl_mechanism,
            "KAFKA_SASL_USERNAME": self.kafka_sasl_username,
            "KAFKA_SASL_PASSWORD": self.kafka_sasl_password,
            "KAFKA_PRODUCER_PRINCIPAL": self.kafka_producer_principal,
            "KAFKA_CONSUMER_PRINCIPAL": self.kafka_consumer_principal,
            "KAFKA_READER_PRINCIPAL": self.kafka_reader_principal,
            "KAFKA_READER_GROUP_PREFIX": self.kafka_reader_group_prefix,
            "PUBLISH_TIMEOUT_S": str(self.publish_timeout_s),
            "PRODUCER_LINGER_MS": str(self.producer_linger_ms),
            "RELAY_INTERVAL_S": str(self.relay_interval_s),
            "RELAY_GRACE_S": str(self.relay_grace_s),
            "RELAY_STALE_S": str(self.relay_stale_s),
            "CONSUMER_GROUP": self.consumer_group,
            "CONSUMER_SESSION_TIMEOUT_MS": str(self.consumer_session_timeout_ms),
            "CONSUMER_HEARTBEAT_INTERVAL_MS": str(self.consumer_heartbeat_interval_ms),
            "CONSUMER_MAX_BATCH": str(self.consumer_max_batch),
            "CONSUMER_MAX_WAIT_MS": str(self.consumer_max_wait_ms),
            "WORKER_METRICS_PORT": str(self.worker_metrics_port),
            "WORKER_METRICS_HOST": self.worker_metrics_host,
            "MAX_RECORD_BYTES": str(self.max_record_bytes),
            "PSEUDONYM_KEY": self.pseudonym_key,
            "API_HOST": self.api_host,
            "API_PORT": str(self.api_port),
            "WEB_WORKERS": str(self.web_workers),
            "WEB_CONNECTIONS": str(self.web_connections),
            "MAX_BODY_BYTES": str(self.max_body_bytes),
            "MAX_BATCH_EVENTS": str(self.max_batch_events),
            "RATE_LIMIT_PER_MINUTE": str(self.rate_limit_per_minute),
            "MAX_CLOCK_SKEW_S": str(self.max_clock_skew_s),
            "AUTH_CACHE_TTL_S": str(self.auth_cache_ttl_s),
            "REFERENCE_REFRESH_S": str(self.reference_refresh_s),
            "LOG_LEVEL": self.log_level,
        }

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)
