"""All configuration, read from the environment in this one place.

Nothing here has side effects: `Settings.from_env()` is called by the composition root
(`service.bootstrap`) and by entrypoints, never at import time.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any


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


def _read(env: dict[str, str], name: str, default: Any) -> Any:
    """The setting `name` from `env`, of the type of its default (an empty number: the default)."""
    if isinstance(default, int):
        return _int(env, name, default)
    if isinstance(default, float):
        return _float(env, name, default)
    if isinstance(default, Path):
        return Path(env[name]) if name in env else default
    return env.get(name, default)


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
    """Every field but `extra` is read from the environment variable of its name in capitals
    (`env_name`), parsed as the type of its default."""

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

    # How this process authenticates to Kafka (docs/ingestion.md, "Kafka access"): PLAINTEXT
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
    # The longest a worker may go between polls before the group hands its partitions to others,
    # which is also how long a rebalance waits for a member that does not poll (kafka-python's
    # default: 300 s). docs/durability.md, "Consumer group recovery".
    consumer_max_poll_interval_ms: int = 30000
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
            data_dir = Path(env.get(env_name("data_dir")) or d.data_dir)
            env = {**_read_env_file(data_dir / STACK_FILE), **env}
            if not env.get(env_name("pseudonym_key")) and (data_dir / KEY_FILE).is_file():
                env[env_name("pseudonym_key")] = (data_dir / KEY_FILE).read_text().strip()
        return cls(**{name: _read(env, env_name(name), getattr(d, name)) for name in _configured()})

    def to_env(self) -> dict[str, str]:
        """The environment that reproduces these settings in a child process."""
        return {env_name(name): str(getattr(self, name)) for name in _configured()}

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)


def _configured() -> tuple[str, ...]:
    """The settings read from the environment: every field but `extra`."""
    return tuple(f.name for f in fields(Settings) if f.name != "extra")


def env_name(setting: str) -> str:
    """The environment variable of a setting (also a CLI option's envvar): its name in capitals."""
    if setting not in _configured():
        raise KeyError(f"no setting {setting!r}")
    return setting.upper()
