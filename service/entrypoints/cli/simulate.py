"""`enrolment simulate`: play realistic agent traffic against the API over HTTP.

`run_simulation()` is the function `enrolment run --simulate` and the tests call; it plays
`service_layer.simulation.play_traffic` through the API client bootstrap builds. The click
command adds agent set-up, a progress bar and the printed summary.
"""
from __future__ import annotations

import random
import signal
import threading
from collections.abc import Sequence

import click

from ... import bootstrap
from ...domain.model import Channel
from ...domain.simulation import SimAgent, TrafficMix
from ...service_layer.simulation import SimulationSummary, create_simulated_agents, play_traffic
from ...service_layer.tokens import UnknownCodes


def run_simulation(base_url: str, agents: Sequence[SimAgent], **traffic) -> SimulationSummary:
    """`service_layer.simulation.play_traffic` against the API at `base_url` (keyword arguments:
    rate, duration_s, max_events, concurrency, seed, mix, on_progress, stop)."""
    return play_traffic(bootstrap.build_agent_client_factory(base_url), agents, **traffic)


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
    rng = random.Random(seed)
    try:
        with bootstrap.build_token_store(database_url) as store:
            return create_simulated_agents(store, count, provinces, rng,
                                           lambda agent_id, token, channel, mine: sim_agent(agent_id, token, channel,
                                                                                           mine, rng))
    except UnknownCodes as unknown:
        raise click.BadParameter(f"not provinces in the database: {', '.join(unknown.codes)}",
                                 param_hint="--provinces") from unknown


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
