"""Load the demo data set: reference data into PostgreSQL, events THROUGH THE API.

`load_demo(settings, base_url)` is what `enrolment run --demo` and `enrolment reference demo`
call. It needs the database (settings.database_url) only to load the demo denominators and
targets and to create the demo agents with fresh agent tokens (revoked again at the end); the
events themselves are posted to `base_url` with the batch endpoint like any agent app would.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import psycopg
import seeds

from ..adapters.agent_api import AgentApiClient
from ..adapters.postgres import reference
from ..adapters.postgres import tokens as token_store
from ..config import Settings
from ..domain.model import Channel
from .dataset import AGENTS, DemoEvent, demo_events

log = logging.getLogger(__name__)
DEMO_SEEDS = seeds.path("demo")
RETRYABLE = {0, 429, 502, 503, 504}


@dataclass
class DemoReport:
    events: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: list[str] = field(default_factory=list)
    seconds: float = 0.0
    reference: dict[str, reference.LoadReport] = field(default_factory=dict)

    def summary(self) -> str:
        return (f"{self.events:,} events posted in {self.seconds:.1f} s: {self.accepted:,} accepted, "
                f"{self.duplicates:,} duplicates, {len(self.rejected):,} rejected")


def load_demo_reference(database_url: str) -> dict[str, reference.LoadReport]:
    reports = reference.load_default_reference(database_url)
    reports["demo denominators"] = reference.load_denominators_csv(database_url, DEMO_SEEDS / "denominators.csv")
    reports["demo targets"] = reference.load_targets_csv(database_url, DEMO_SEEDS / "targets.csv")
    return reports


def issue_demo_tokens(database_url: str) -> dict[str, tuple[int, str]]:
    """Create (or update) the demo agents and issue one agent token each: agent_id -> (id, token)."""
    issued = {}
    with psycopg.connect(database_url) as conn:
        for agent in AGENTS:
            token_store.upsert_agent(conn, agent.agent_id, agent.name, Channel(agent.channel), list(agent.provinces))
            issued[agent.agent_id] = token_store.issue(conn, token_store.AGENT, agent.agent_id, "demo loader")
    return issued


def post_events(base_url: str, tokens: dict[str, str], events: list[DemoEvent], batch_size: int = 1000,
                workers: int = 3, progress: Callable[[int], None] | None = None) -> DemoReport:
    """Post events in batches per agent, `workers` requests in flight; retries what the API
    asks to retry (503 broker unavailable, 429), which is safe: event ids are idempotency keys."""
    batches: list[tuple[str, list[dict]]] = []
    for agent_id in dict.fromkeys(e.agent_id for e in events):
        bodies = [e.body for e in events if e.agent_id == agent_id]
        batches += [(agent_id, bodies[i:i + batch_size]) for i in range(0, len(bodies), batch_size)]
    report = DemoReport(events=len(events))

    def send(batch: tuple[str, list[dict]]):
        agent_id, bodies = batch
        client = AgentApiClient(base_url, timeout_s=30)
        try:
            for attempt in range(8):
                outcome = client.send(tokens[agent_id], bodies, batch=True)
                if outcome.status not in RETRYABLE:
                    return outcome
                time.sleep(min(0.25 * 2 ** attempt, 4))
            raise RuntimeError(f"the API kept answering {outcome.status} ({outcome.error}) at {base_url}")
        finally:
            client.close()

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for (agent_id, bodies), outcome in zip(batches, pool.map(send, batches)):
            if outcome.status in (401, 403):
                raise RuntimeError(f"the API refused the demo token of {agent_id}: {outcome.status} {outcome.error}")
            report.accepted += outcome.accepted
            report.duplicates += outcome.duplicates
            report.rejected += outcome.rejected_rules
            if progress:
                progress(len(bodies))
    report.seconds = time.perf_counter() - started
    return report


def load_demo(settings: Settings, base_url: str, progress: Callable[[int], None] | None = None) -> DemoReport:
    """Reference data + demo agents/tokens in the database, then every demo event through the API."""
    refs = load_demo_reference(settings.database_url)
    issued = issue_demo_tokens(settings.database_url)
    try:
        report = post_events(base_url, {a: t for a, (_, t) in issued.items()}, demo_events(),
                             batch_size=settings.max_batch_events, progress=progress)
    finally:
        with psycopg.connect(settings.database_url) as conn:
            for token_id, _ in issued.values():
                token_store.revoke(conn, token_id=token_id)
    report.reference = refs
    if report.rejected:
        log.warning("demo events rejected", extra={"rejected": len(report.rejected), "rules": sorted(set(report.rejected))[:5]})
    return report
