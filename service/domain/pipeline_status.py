"""Pipeline health at a glance: pure arithmetic over what the status command collected."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

Partition = tuple[str, int]


def consumer_lag(high_watermarks: Mapping[Partition, int], next_offsets: Mapping[Partition, int],
                 topic: str) -> dict[int, int]:
    """Records on `topic` not yet applied, per partition (a partition never consumed lags by
    everything it holds)."""
    return {
        partition: max(0, mark - next_offsets.get((t, partition), 0))
        for (t, partition), mark in sorted(high_watermarks.items())
        if t == topic
    }


@dataclass
class PipelineStatus:
    api_up: bool | None = None  # None: not checked
    api_ready: bool | None = None
    api_checks: dict[str, bool] = field(default_factory=dict)
    broker_reachable: bool | None = None
    database_reachable: bool | None = None
    lag: dict[int, int] = field(default_factory=dict)
    dead_letters: int | None = None
    last_applied_at: datetime | None = None
    newest_occurred_at: datetime | None = None
    events_applied: int | None = None
    # worker index -> times `enrolment run` restarted it (empty: no runner status in the data dir)
    worker_restarts: dict[int, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # why a check failed, one line each

    @property
    def total_lag(self) -> int:
        return sum(self.lag.values())

    @property
    def healthy(self) -> bool:
        """Everything checked answered and no dead letter waits."""
        checked = [v for v in (self.api_up, self.api_ready, self.broker_reachable, self.database_reachable) if v is not None]
        return all(checked) and not self.dead_letters

    def freshness_s(self, now: datetime) -> float | None:
        """Now minus the newest applied `occurred_at` (how far behind the field the figures are)."""
        return None if self.newest_occurred_at is None else (now - self.newest_occurred_at).total_seconds()

    def as_dict(self, now: datetime) -> dict:
        iso = lambda d: d.isoformat() if d else None  # noqa: E731
        return {
            "healthy": self.healthy,
            "api": {"up": self.api_up, "ready": self.api_ready, "checks": self.api_checks},
            "broker_reachable": self.broker_reachable,
            "database_reachable": self.database_reachable,
            "consumer_lag": {"total": self.total_lag, "per_partition": {str(p): n for p, n in self.lag.items()}},
            "last_applied_at": iso(self.last_applied_at),
            "newest_occurred_at": iso(self.newest_occurred_at),
            "freshness_seconds": self.freshness_s(now),
            "events_applied": self.events_applied,
            "dead_letters_waiting": self.dead_letters,
            "worker_restarts": {str(i): n for i, n in self.worker_restarts.items()},
            "problems": self.problems,
        }
