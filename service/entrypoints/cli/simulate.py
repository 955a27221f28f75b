"""`enrolment simulate`: play realistic agent traffic against the API over HTTP.

`run_simulation()` is the function `enrolment run --simulate` and the tests call; the click
command adds agent set-up, a progress bar and the printed summary.
"""
from __future__ import annotations

import random
import signal
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import click

from ...adapters.agent_api import AgentApiClient, Outcome
from ...domain.model import Channel
from ...domain.simulation import PlannedRequest, SimAgent, TrafficMix, TrafficPlan

DEMO_AGENT_PREFIX = "sim-agent-"


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

    def add(self, request: PlannedRequest, outcome: Outcome) -> None:
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


def run_simulation(
    base_url: str,
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
    """Send planned traffic until `duration_s` passes, `max_events` are sent or `stop` is set."""
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
        local.client = AgentApiClient(base_url)
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


# --------------------------------------------------------------------------- agents


def communes_by_province() -> dict[str, list[str]]:
    """The official commune codes of each province (the same list the locality loader uses)."""
    from vietnam_provinces import Ward

    out: dict[str, list[str]] = {}
    for ward in Ward.iter_all():
        out.setdefault(f"{ward.province_code.value:02d}", []).append(f"{ward.code.value:05d}")
    return out


def sim_agent(agent_id: str, token: str, channel: Channel, provinces: Sequence[str], rng: random.Random,
              communes_per_agent: int = 12) -> SimAgent:
    """An agent working in a sample of the communes of `provinces`."""
    table = communes_by_province()
    unknown = [p for p in provinces if p not in table]
    if unknown:
        raise click.BadParameter(f"unknown province code(s) {', '.join(unknown)}", param_hint="provinces")
    pool = [c for p in provinces for c in table[p]]
    return SimAgent(agent_id, token, channel, tuple(sorted(rng.sample(pool, min(communes_per_agent, len(pool))))))


def create_demo_agents(database_url: str, count: int, provinces: Sequence[str], seed: int = 0) -> list[SimAgent]:
    """`count` agents with fresh agent tokens in the database, spread over `provinces`."""
    import psycopg

    from ...adapters.postgres import tokens as token_store

    rng = random.Random(seed)
    channels = list(Channel)
    agents = []
    with psycopg.connect(database_url) as conn:
        unknown = token_store.unknown_provinces(conn, list(provinces))
        if unknown:
            raise click.BadParameter(f"not provinces in the database: {', '.join(unknown)}", param_hint="--provinces")
        for i in range(count):
            agent_id = f"{DEMO_AGENT_PREFIX}{i + 1:03d}"
            channel = channels[i % len(channels)]
            mine = [provinces[i % len(provinces)]]
            if rng.random() < 0.3 and len(provinces) > 1:
                mine.append(provinces[(i + 1) % len(provinces)])
            token_store.upsert_agent(conn, agent_id, f"Simulated agent {i + 1}", channel, mine)
            token_store.revoke(conn, agent_id=agent_id)  # a previous run's tokens for this demo agent
            _, token = token_store.issue(conn, token_store.AGENT, agent_id, label="simulator")
            agents.append(sim_agent(agent_id, token, channel, mine, rng))
    return agents


def _parse_agent_token(value: str) -> tuple[str, str, Channel, list[str]]:
    """`AGENT_ID:CHANNEL:PROVINCE[,PROVINCE…]:TOKEN` as given on the command line."""
    try:
        agent_id, channel, provinces, token = value.split(":", 3)
        return agent_id, token, Channel(channel), [p for p in provinces.split(",") if p]
    except ValueError as exc:
        raise click.BadParameter(
            f"expected AGENT_ID:CHANNEL:PROVINCES:TOKEN with CHANNEL one of {', '.join(Channel)} ({exc})",
            param_hint="--agent-token",
        ) from exc


# --------------------------------------------------------------------------- command


@click.command("simulate")
@click.option("--api", "base_url", default=None, help="API base URL [default: http://API_HOST:API_PORT]")
@click.option("--rate", type=float, default=50.0, show_default=True, help="events per second (0 = as fast as possible)")
@click.option("--duration", type=float, default=None, help="stop after this many seconds")
@click.option("--count", type=int, default=None, help="stop after this many events")
@click.option("--agents", "agent_count", type=int, default=20, show_default=True, help="demo agents to create (with tokens) when no --agent-token is given")
@click.option("--provinces", default="01,79,82,46,24,48", show_default=True, help="province codes the demo agents work in")
@click.option("--agent-token", "agent_tokens", multiple=True, metavar="AGENT_ID:CHANNEL:PROVINCES:TOKEN", help="use an existing agent token (repeatable) instead of creating demo agents")
@click.option("--concurrency", type=int, default=4, show_default=True, help="parallel HTTP connections")
@click.option("--invalid-share", type=float, default=TrafficMix.invalid, show_default=True, help="weight of deliberately invalid events")
@click.option("--seed", type=int, default=None, help="random seed (reproducible traffic)")
def simulate_command(base_url, rate, duration, count, agent_count, provinces, agent_tokens, concurrency, invalid_share, seed):
    """Play realistic agent traffic against the API: many agents, offline bursts through the
    batch endpoint, retries with the same event_id, late and invalid events."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from ...config import Settings

    settings = Settings.from_env()
    base_url = base_url or f"http://{settings.api_host}:{settings.api_port}"
    rng = random.Random(seed)
    if agent_tokens:
        agents = [sim_agent(a, t, c, p, rng) for a, t, c, p in map(_parse_agent_token, agent_tokens)]
    else:
        if not settings.database_url:
            raise click.UsageError("creating demo agents needs DATABASE_URL (or pass --agent-token)")
        agents = create_demo_agents(settings.database_url, agent_count, [p.strip() for p in provinces.split(",") if p.strip()],
                                    seed=rng.randrange(2**32))
    console = Console(stderr=True)
    console.print(f"simulating {len(agents)} agents against {base_url} at "
                  f"{'max' if rate <= 0 else f'{rate:g}'} events/s")
    mix = TrafficMix(invalid=invalid_share)
    total = count or None
    with Progress(
        TextColumn("[bold]simulate"), BarColumn(), TextColumn("{task.completed:,.0f}{task.fields[of]} events"),
        TextColumn("accepted {task.fields[accepted]:,} · rejected {task.fields[rejected]:,} · 429/503 {task.fields[throttled]:,}"),
        TimeElapsedColumn(), console=console, transient=False,
    ) as progress:
        task = progress.add_task("simulate", total=total or duration, of=f"/{total:,}" if total else "",
                                 accepted=0, rejected=0, throttled=0)

        def on_progress(s: SimulationSummary) -> None:
            progress.update(task, completed=s.events_sent if total or not duration else s.elapsed_s,
                            accepted=s.accepted, rejected=sum(s.rejected.values()),
                            throttled=s.throttled)

        # `enrolment run` stops its children with SIGTERM: finish the requests in flight and
        # print the summary, as Ctrl-C does.
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        summary = run_simulation(base_url, agents, rate=rate, duration_s=duration, max_events=count,
                                 concurrency=concurrency, seed=rng.randrange(2**32), mix=mix,
                                 on_progress=on_progress, stop=stop)
    table = Table(title="simulation summary", show_header=False)
    for name, value in summary.rows():
        table.add_row(name, value)
    Console().print(table)


commands: list[click.Command] = [simulate_command]
