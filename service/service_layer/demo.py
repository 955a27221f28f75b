"""Use case: load the demo data set (`enrolment run --demo`, `enrolment reference demo`).

Reference data (the defaults and the demo's denominators and targets) goes into the database
through the reference loaders; the demo agents (`domain.demo.AGENTS`) get fresh agent tokens,
revoked again at the end; the events themselves are posted through the batch endpoint by the
simulator's agent clients (`simulation.AgentClient`), like any agent app would. Every
collaborator comes from service/bootstrap.py (`build_demo_loader`).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ..domain.demo import AGENTS, DemoEvent, demo_events
from ..domain.model import Channel
from ..domain.reference_data import LoadReport
from .simulation import AgentClient, RequestOutcome
from .tokens import TokenStore, issue_agent_token

log = logging.getLogger(__name__)

RETRYABLE = frozenset({0, 429, 502, 503, 504})  # no connection, throttled, broker or proxy unavailable
ATTEMPTS = 8
MAX_PAUSE_S = 4.0


class ReferenceLoader(Protocol):
    """The reference loaders the demo needs (adapters.postgres.reference.ReferenceFiles)."""

    def defaults(self, *, dry_run: bool, progress: Callable[[str], None] | None) -> dict[str, LoadReport]: ...
    def denominators(self, path: Path, *, dry_run: bool, progress: Callable[[str], None] | None,
                     within: Iterable[str]) -> LoadReport: ...
    def targets(self, path: Path, *, dry_run: bool, progress: Callable[[str], None] | None,
                within: Iterable[str]) -> LoadReport: ...


class DemoRefused(RuntimeError):
    """The API refused a demo token (401/403) or kept answering a retryable status."""


@dataclass
class DemoReport:
    events: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: list[str] = field(default_factory=list)
    seconds: float = 0.0
    reference: dict[str, LoadReport] = field(default_factory=dict)

    def summary(self) -> str:
        return (f"{self.events:,} events posted in {self.seconds:.1f} s: {self.accepted:,} accepted, "
                f"{self.duplicates:,} duplicates, {len(self.rejected):,} rejected")


def load_demo_reference(reference: ReferenceLoader, seeds_dir: Path) -> dict[str, LoadReport]:
    """The defaults, then the demo's `denominators.csv` and `targets.csv` from `seeds_dir`."""
    reports = reference.defaults(dry_run=False, progress=None)
    reports["demo denominators"] = reference.denominators(seeds_dir / "denominators.csv", dry_run=False,
                                                          progress=None, within=())
    reports["demo targets"] = reference.targets(seeds_dir / "targets.csv", dry_run=False, progress=None, within=())
    return reports


def issue_demo_tokens(store: TokenStore) -> dict[str, tuple[int, str]]:
    """Create (or update) the demo agents and issue one agent token each: agent_id -> (id, token)."""
    return {agent.agent_id: issue_agent_token(store, agent.agent_id, agent.name, Channel(agent.channel),
                                              agent.provinces, "demo loader")
            for agent in AGENTS}


def send_until_answered(client: AgentClient, token: str, bodies: list[dict], *,
                        sleep: Callable[[float], None] = time.sleep) -> RequestOutcome:
    """Post one batch, again while the API answers a RETRYABLE status (safe: event ids are
    idempotency keys), pausing 0.25 s doubling up to MAX_PAUSE_S; DemoRefused after ATTEMPTS."""
    for attempt in range(ATTEMPTS):
        outcome = client.send(token, bodies, batch=True)
        if outcome.status not in RETRYABLE:
            return outcome
        if attempt + 1 < ATTEMPTS:
            sleep(min(0.25 * 2 ** attempt, MAX_PAUSE_S))
    raise DemoRefused(f"the API kept answering {outcome.status} ({outcome.error})")


def post_events(new_client: Callable[[], AgentClient], tokens: dict[str, str], events: list[DemoEvent],
                batch_size: int = 1000, workers: int = 3, progress: Callable[[int], None] | None = None,
                sleep: Callable[[float], None] = time.sleep) -> DemoReport:
    """Post events in batches per agent, `workers` requests in flight, each through a client of
    its own (`new_client()`); DemoRefused when the API refuses a token."""
    batches: list[tuple[str, list[dict]]] = []
    for agent_id in dict.fromkeys(e.agent_id for e in events):
        bodies = [e.body for e in events if e.agent_id == agent_id]
        batches += [(agent_id, bodies[i:i + batch_size]) for i in range(0, len(bodies), batch_size)]
    report = DemoReport(events=len(events))

    def send(batch: tuple[str, list[dict]]) -> RequestOutcome:
        agent_id, bodies = batch
        client = new_client()
        try:
            return send_until_answered(client, tokens[agent_id], bodies, sleep=sleep)
        finally:
            client.close()

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for (agent_id, bodies), outcome in zip(batches, pool.map(send, batches)):
            if outcome.status in (401, 403):
                raise DemoRefused(f"the API refused the demo token of {agent_id}: {outcome.status} {outcome.error}")
            report.accepted += outcome.accepted
            report.duplicates += outcome.duplicates
            report.rejected += outcome.rejected_rules
            if progress:
                progress(len(bodies))
    report.seconds = time.perf_counter() - started
    return report


def load_demo(reference: ReferenceLoader, seeds_dir: Path,
              token_store: Callable[[], AbstractContextManager[TokenStore]], new_client: Callable[[], AgentClient],
              *, batch_size: int, progress: Callable[[int], None] | None = None,
              events: list[DemoEvent] | None = None, sleep: Callable[[float], None] = time.sleep) -> DemoReport:
    """Reference data + demo agents/tokens in the database, then every demo event (`events`, by
    default `domain.demo.demo_events()`) through the API; the tokens are revoked even when
    posting fails. `token_store()` is entered once to issue, once to revoke (each commits)."""
    refs = load_demo_reference(reference, seeds_dir)
    with token_store() as store:
        issued = issue_demo_tokens(store)
    try:
        report = post_events(new_client, {agent: token for agent, (_, token) in issued.items()},
                             demo_events() if events is None else events, batch_size=batch_size,
                             progress=progress, sleep=sleep)
    finally:
        with token_store() as store:
            for token_id, _ in issued.values():
                store.revoke(token_id=token_id)
    report.reference = refs
    if report.rejected:
        log.warning("demo events rejected",
                    extra={"rejected": len(report.rejected), "rules": sorted(set(report.rejected))[:5]})
    return report
