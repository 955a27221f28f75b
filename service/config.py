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

    # Producer (API side). acks=all and idempotence are explicit even though they are the
    # kafka-python 3 defaults (PLATFORM.md trap 6).
    publish_timeout_s: float = 5.0
    producer_linger_ms: int = 2

    # Consumer (worker side). Short session/heartbeat: Tansu holds JoinGroup for about half of
    # session_timeout_ms (PLATFORM.md trap 3).
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
    def from_env(cls, env: dict[str, str] | None = None) -> "Settings":
        env = dict(os.environ if env is None else env)
        d = cls()
        return cls(
            database_url=env.get("DATABASE_URL", d.database_url),
            kafka_bootstrap_servers=env.get("KAFKA_BOOTSTRAP_SERVERS", d.kafka_bootstrap_servers),
            data_dir=Path(env.get("DATA_DIR", str(d.data_dir))),
            events_topic=env.get("EVENTS_TOPIC", d.events_topic),
            dead_letter_topic=env.get("DEAD_LETTER_TOPIC", d.dead_letter_topic),
            topic_partitions=_int(env, "TOPIC_PARTITIONS", d.topic_partitions),
            topic_replication_factor=_int(env, "TOPIC_REPLICATION_FACTOR", d.topic_replication_factor),
            publish_timeout_s=_float(env, "PUBLISH_TIMEOUT_S", d.publish_timeout_s),
            producer_linger_ms=_int(env, "PRODUCER_LINGER_MS", d.producer_linger_ms),
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
            "PUBLISH_TIMEOUT_S": str(self.publish_timeout_s),
            "PRODUCER_LINGER_MS": str(self.producer_linger_ms),
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
