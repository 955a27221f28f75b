"""Use cases of the stack's start-up, stop and health: prepare the database (`enrolment
migrate`, the runner, the benchmarks), prepare a whole stack (`enrolment run`), wait at its stop
until the workers have stored what was accepted, collect the pipeline's status (`enrolment
status`). Their collaborators come from `bootstrap`; the unit tests pass fakes.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..domain.pipeline_status import PipelineStatus, consumer_lag
from .unavailable import Unreachable

BROKER_RESET_REASON = "enrolment run started an empty embedded broker"


class MigrationError(RuntimeError):
    """The migration files and the database's record of them disagree; nothing was applied."""


class EmbeddedUnavailable(RuntimeError):
    """The wheel of an embedded server is not installed."""


class Database(Protocol):
    def migrate(self) -> int:
        """The migrations applied now; raises MigrationError."""
    def load_contribution_rules(self, path: Path) -> int: ...
    def load_default_reference(self) -> Mapping[str, Any]: ...
    def forget_consumer_offsets(self) -> None: ...
    def note_broker_reset(self, reason: str) -> tuple[int, int]: ...


@dataclass(frozen=True)
class BrokerReset:
    """A new broker numbers offsets from zero again: the offsets stored for the previous one
    were forgotten, and the relay publishes the outbox again."""
    stored: int  # events in the event store: they keep their figures
    pending: int  # accepted events not yet stored: published again from the outbox


@dataclass(frozen=True)
class Preparation:
    migrations: int  # applied now
    rules: int  # contribution rules loaded
    reference: Mapping[str, Any]  # what -> the load's report
    broker_reset: BrokerReset | None


def prepare_database(database: Database, rules_file: Path) -> tuple[int, int]:
    """Migrations, then the contribution rules from `rules_file` (replacing the table's rows).
    Returns (migrations applied now, rules loaded)."""
    return database.migrate(), database.load_contribution_rules(rules_file)


def prepare_stack(database: Database, ensure_topics: Callable[[], None], rules_file: Path, *,
                  fresh_broker: bool) -> Preparation:
    """Database, default reference data and topics, in that order. With `fresh_broker` (an
    in-memory broker just started) the offsets stored for the previous broker's topic would
    skip its records: they are forgotten, and whatever it held is published again from the
    outbox (docs/durability.md)."""
    migrations, rules = prepare_database(database, rules_file)
    reference = database.load_default_reference()
    ensure_topics()
    reset = None
    if fresh_broker:
        database.forget_consumer_offsets()
        reset = BrokerReset(*database.note_broker_reset(BROKER_RESET_REASON))
    return Preparation(migrations, rules, reference, reset)


class HealthProbe(Protocol):
    def check(self) -> tuple[bool, bool, dict[str, bool]]: ...


class ConsumerProgress(Protocol):
    offsets: dict[tuple[str, int], int]
    last_applied_at: Any
    newest_occurred_at: Any
    events_applied: int | None


class ProgressStore(Protocol):
    def progress(self, consumer_group: str) -> ConsumerProgress: ...


class Watermarks(Protocol):
    def high_watermarks(self, topics: list[str], near: Mapping[tuple[str, int], int]) -> dict[tuple[str, int], int]: ...


@dataclass(frozen=True)
class StatusSources:
    """What `collect_status` asks; None: not checked (not configured, or `--no-api`). Each
    raises Unreachable when it does not answer."""
    api: HealthProbe | None
    database: ProgressStore | None
    broker: Watermarks | None
    consumer_group: str
    events_topic: str
    dead_letter_topic: str
    worker_restarts: Mapping[int, int]  # from the runner's status file (empty: no runner)


def collect_status(sources: StatusSources) -> PipelineStatus:
    """Everything `enrolment status` shows: each part that does not answer is marked so, with
    its problem, and the others are still checked."""
    status = PipelineStatus(worker_restarts=dict(sources.worker_restarts))
    if sources.api is not None:
        try:
            status.api_up, status.api_ready, status.api_checks = sources.api.check()
        except Unreachable as exc:
            status.api_up = status.api_ready = False
            status.problems.append(str(exc))
    offsets: dict[tuple[str, int], int] = {}
    if sources.database is not None:
        try:
            progress = sources.database.progress(sources.consumer_group)
        except Unreachable as exc:
            status.database_reachable = False
            status.problems.append(str(exc))
        else:
            status.database_reachable = True
            offsets = progress.offsets
            status.last_applied_at, status.newest_occurred_at = progress.last_applied_at, progress.newest_occurred_at
            status.events_applied = progress.events_applied
    if sources.broker is not None:
        try:
            marks = sources.broker.high_watermarks([sources.events_topic, sources.dead_letter_topic], offsets)
        except Unreachable as exc:
            status.broker_reachable = False
            status.problems.append(str(exc))
        else:
            status.broker_reachable = True
            status.lag = consumer_lag(marks, offsets, sources.events_topic)
            status.dead_letters = sum(n for (topic, _), n in marks.items() if topic == sources.dead_letter_topic)
    return status



class PendingOutbox(Protocol):
    def pending_in_outbox(self) -> int: ...


DRAIN_POLL_S = 0.5


def drain_outbox(outbox: PendingOutbox, keep_running: Callable[[], None], say: Callable[[str], None], *,
                 timeout_s: float, clock: Callable[[], float], sleep: Callable[[float], None]) -> int | None:
    """Wait until the outbox is empty (every accepted event is in the event store), saying how
    many are left when that changes, for `timeout_s` at most, calling `keep_running` (restart
    exited workers) between looks. Returns what is left (None: the outbox could not be read)."""
    deadline, said = clock() + timeout_s, None
    while True:
        try:
            left = outbox.pending_in_outbox()
        except Unreachable as exc:
            say(f"cannot read the outbox ({exc}): not waiting for the workers")
            return None
        if left == 0:
            if said is not None:
                say("every accepted event is stored")
            return 0
        if clock() > deadline:
            say(f"{left:,} accepted events not yet applied stay in the outbox: the next start publishes them")
            return left
        if left != said:
            say(f"waiting for the workers: {left:,} accepted events not yet applied …")
            said = left
        keep_running()
        sleep(DRAIN_POLL_S)
