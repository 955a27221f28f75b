"""The runner's worker supervision: a consumer worker that exits is started again, with backoff.

A worker exits on its own only when something is wrong (a bug, a kill, memory): the stack keeps
serving and the other workers take its partitions meanwhile. Restarts are logged and written to
`DATA_DIR/runner-status.json`, which `enrolment status` shows.
"""
from __future__ import annotations

import json
import logging
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)

STATUS_FILE = "runner-status.json"
FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0
STABLE_AFTER_S = 60.0  # a worker that ran this long before exiting restarts after FIRST_BACKOFF_S again


@dataclass
class WorkerSlot:
    index: int
    pid: int | None = None
    restarts: int = 0
    last_exit_code: int | None = None
    last_exit_at: str | None = None
    restart_at: float | None = field(default=None, repr=False)  # monotonic; None while running
    started: float = field(default=0.0, repr=False)
    backoff_s: float = field(default=FIRST_BACKOFF_S, repr=False)


class WorkerSupervisor:
    """Keeps `count` workers running; `spawn(index)` starts worker `index`."""

    def __init__(self, count: int, spawn: Callable[[int], subprocess.Popen], data_dir: Path,
                 status_file: str = STATUS_FILE):
        self._spawn = spawn
        self._path = data_dir / status_file
        self.slots = [WorkerSlot(i) for i in range(count)]
        self.processes: dict[int, subprocess.Popen] = {}
        for slot in self.slots:
            self._start(slot)

    def _start(self, slot: WorkerSlot) -> None:
        process = self._spawn(slot.index)
        self.processes[slot.index] = process
        slot.pid, slot.started, slot.restart_at = process.pid, time.monotonic(), None
        self._write()

    def check(self) -> None:
        """Note workers that exited, start those whose backoff has passed."""
        now = time.monotonic()
        for slot in self.slots:
            if slot.restart_at is None:
                code = self.processes[slot.index].poll()
                if code is None:
                    continue
                slot.backoff_s = FIRST_BACKOFF_S if now - slot.started > STABLE_AFTER_S \
                    else min(slot.backoff_s * 2, MAX_BACKOFF_S) if slot.restarts else FIRST_BACKOFF_S
                slot.last_exit_code, slot.last_exit_at = code, datetime.now(UTC).isoformat()
                slot.restart_at, slot.pid = now + slot.backoff_s, None
                log.error("consumer worker exited; restarting it", extra={
                    "worker": slot.index, "exit_code": code, "restart_in_s": slot.backoff_s})
                self._write()
            elif now >= slot.restart_at:
                slot.restarts += 1
                self._start(slot)
                log.warning("consumer worker restarted", extra={"worker": slot.index, "restarts": slot.restarts,
                                                                 "pid": slot.pid})

    def running(self) -> list[subprocess.Popen]:
        return list(self.processes.values())

    def _write(self) -> None:
        state = {"updated_at": datetime.now(UTC).isoformat(), "runner_pid": os.getpid(),
                 "workers": [{k: v for k, v in asdict(s).items() if k in _PUBLIC} for s in self.slots]}
        partial = self._path.with_suffix(".tmp")
        partial.write_text(json.dumps(state, indent=2))
        partial.replace(self._path)  # readers never see half a file


_PUBLIC = ("index", "pid", "restarts", "last_exit_code", "last_exit_at")


RELAY_STATUS_FILE = "relay-status.json"  # the outbox relay, supervised the same way (one slot)


def read_runner_status(data_dir: Path, status_file: str = STATUS_FILE) -> dict | None:
    """What the runner last wrote (None when no runner has written there)."""
    try:
        return json.loads((data_dir / status_file).read_text())
    except FileNotFoundError:
        return None
