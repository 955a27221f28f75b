"""Use case: play realistic agent traffic against the API (`enrolment simulate`, `enrolment run
--simulate`, the tests): many agents, offline bursts through the batch endpoint, retries with
the same event_id, late and invalid events (`domain.simulation` plans them), paced to a rate,
sent over HTTP by clients the caller makes; and the simulated agents with fresh tokens.
"""
from __future__ import annotations

import random
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from ..domain.model import Channel
from ..domain.simulation import PlannedRequest, SimAgent, TrafficMix, TrafficPlan
from ..domain.access import AGENT
from .tokens import TokenStore, UnknownCodes

DEMO_AGENT_PREFIX = "sim-agent-"


@dataclass
class RequestOutcome:
    """What one request of an agent app got (adapters/agent_api.py sends it)."""

    status: int  # HTTP status, 0 when the connection failed
    latency_s: float
    accepted: int = 0
    duplicates: int = 0
    rejected_rules: list[str] = field(default_factory=list)  # one entry per rejected event
    error: str = ""  # connection error or unexpected body, for the summary


class AgentClient(Protocol):
    def send(self, token: str, events: list[dict], batch: bool) -> RequestOutcome: ...
    def close(self) -> None: ...


@dataclass
class SimulationSummary:
    requests: int = 0
    events_sent: int = 0
    accepted: int = 0
    retried_events: int = 0  # events sent again with the same event_id
    late_events: int = 0
    planned_invalid: int = 0
    rejected: Counter = field(default_factory=Counter)  # rule -> events
    status: Counter = field(default_factory=Counter)  # HTTP status -> requests
    errors: Counter = field(default_factory=Counter)  # connection errors
    latencies_s: list[float] = field(default_factory=list)
    elapsed_s: float = 0.0

    def add(self, request: PlannedRequest, outcome: RequestOutcome) -> None:
        n = len(request.events)
        self.requests += 1
        self.events_sent += n
        self.retried_events += n if request.retry else 0
        self.late_events += request.late
        self.planned_invalid += len(request.invalid)
        self.accepted += outcome.accepted
        self.rejected.update(outcome.rejected_rules)
        self.status[outcome.status] += 1
        if outcome.error and outcome.status == 0:
            self.errors[outcome.error] += 1
        self.latencies_s.append(outcome.latency_s)

    @property
    def throttled(self) -> int:
        return self.status[429] + self.status[503]

    def latency_ms(self, q: float) -> float:
        if not self.latencies_s:
            return 0.0
        if len(self.latencies_s) == 1:
            return self.latencies_s[0] * 1000
        return statistics.quantiles(self.latencies_s, n=100, method="inclusive")[round(q * 100) - 1] * 1000

    def rows(self) -> list[tuple[str, str]]:
        rate = self.events_sent / self.elapsed_s if self.elapsed_s else 0.0
        rows = [
            ("requests", f"{self.requests:,}"),
            ("events sent", f"{self.events_sent:,} ({rate:,.0f}/s over {self.elapsed_s:,.1f} s)"),
            ("accepted", f"{self.accepted:,}"),
            ("retried events (same event_id; counted once downstream)", f"{self.retried_events:,}"),
            ("late events (> 1 week old)", f"{self.late_events:,}"),
            ("invalid on purpose", f"{self.planned_invalid:,}"),
            ("rejected", f"{sum(self.rejected.values()):,}"),
        ]
        rows += [(f"  rejected: {rule}", f"{n:,}") for rule, n in self.rejected.most_common()]
        rows += [("throttled 429 / unavailable 503", f"{self.status[429]:,} / {self.status[503]:,}")]
        rows += [(f"HTTP {code}", f"{n:,}") for code, n in sorted(self.status.items()) if code]
        rows += [(f"connection error: {name}", f"{n:,}") for name, n in self.errors.most_common()]
        rows.append(
            ("latency p50 / p95 / p99", f"{self.latency_ms(0.5):.1f} / {self.latency_ms(0.95):.1f} / {self.latency_ms(0.99):.1f} ms")
        )
        return rows


class _Pacer:
    """Hands out send times so that events leave at `rate` per second (0 = as fast as possible)."""

    def __init__(self, rate: float):
        self._rate = rate
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def slot(self, events: int) -> float:
        with self._lock:
            at = self._next
            if self._rate > 0:
                self._next = max(self._next, time.monotonic() - 1.0) + events / self._rate
            return at


def play_traffic(
    new_client: Callable[[], AgentClient],
    agents: Sequence[SimAgent],
    *,
    rate: float = 50.0,
    duration_s: float | None = None,
    max_events: int | None = None,
    concurrency: int = 4,
    seed: int | None = None,
    mix: TrafficMix = TrafficMix(),
    on_progress: Callable[[SimulationSummary], None] | None = None,
    stop: threading.Event | None = None,
) -> SimulationSummary:
    """Send planned traffic until `duration_s` passes, `max_events` are sent or `stop` is set;
    each of the `concurrency` threads sends through a client of its own (`new_client()`)."""
    plan = TrafficPlan(agents, seed=random.randrange(2**32) if seed is None else seed, mix=mix)
    summary = SimulationSummary()
    pacer = _Pacer(rate)
    stop = stop or threading.Event()
    lock = threading.Lock()
    started = time.monotonic()
    deadline = started + duration_s if duration_s else None
    local = threading.local()

    def next_request() -> PlannedRequest | None:
        with lock:
            if stop.is_set() or (max_events is not None and summary.events_sent + _in_flight[0] >= max_events):
                return None
            request = next(plan)
            if max_events is not None:
                room = max_events - summary.events_sent - _in_flight[0]
                if len(request.events) > room:
                    request = PlannedRequest(request.agent, request.events[:room], request.batch, request.retry,
                                             min(request.late, room), request.invalid[:room])
            _in_flight[0] += len(request.events)
            return request

    _in_flight = [0]

    def worker() -> None:
        local.client = new_client()
        try:
            while True:
                request = next_request()
                if request is None:
                    return
                wait = pacer.slot(len(request.events)) - time.monotonic()
                if deadline is not None and time.monotonic() + max(wait, 0) >= deadline:
                    stop.set()
                    with lock:
                        _in_flight[0] -= len(request.events)
                    return
                if wait > 0 and stop.wait(wait):
                    with lock:
                        _in_flight[0] -= len(request.events)
                    return
                outcome = local.client.send(request.agent.token, list(request.events), request.batch)
                with lock:
                    _in_flight[0] -= len(request.events)
                    summary.add(request, outcome)
                    summary.elapsed_s = time.monotonic() - started
                if on_progress:
                    on_progress(summary)
        finally:
            local.client.close()

    with ThreadPoolExecutor(concurrency, thread_name_prefix="simulate") as pool:
        futures = [pool.submit(worker) for _ in range(concurrency)]
        try:
            for future in futures:
                future.result()
        except KeyboardInterrupt:
            stop.set()
            for future in futures:
                future.result()
    summary.elapsed_s = time.monotonic() - started
    return summary


def create_simulated_agents(store: TokenStore, count: int, provinces: Sequence[str], rng: random.Random,
                            make_agent: Callable[[str, str, Channel, list[str]], SimAgent]) -> list[SimAgent]:
    """`count` agents spread over `provinces`, each with a fresh agent token (a previous run's
    tokens of the same agent are revoked), made by `make_agent(agent_id, token, channel,
    provinces)` in turn (it may draw from `rng` too). UnknownCodes when a code is not a
    province."""
    unknown = store.unknown_provinces(list(provinces))
    if unknown:
        raise UnknownCodes("provinces", unknown)
    channels = list(Channel)
    agents = []
    for i in range(count):
        agent_id = f"{DEMO_AGENT_PREFIX}{i + 1:03d}"
        channel = channels[i % len(channels)]
        mine = [provinces[i % len(provinces)]]
        if rng.random() < 0.3 and len(provinces) > 1:
            mine.append(provinces[(i + 1) % len(provinces)])
        store.upsert_agent(agent_id, f"Simulated agent {i + 1}", channel, mine)
        store.revoke(agent_id=agent_id)
        _, token = store.issue(AGENT, agent_id, label="simulator")
        agents.append(make_agent(agent_id, token, channel, mine))
    return agents
