"""`enrolment status`: API up, broker reachable, consumer lag, last event applied, dead letters
waiting — at a glance, or as JSON (`--json`) for scripts. Exit code 1 when something is wrong."""
from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from ... import bootstrap
from ...config import Settings
from ...domain.pipeline_status import PipelineStatus
from ...service_layer import stack
from .supervisor import read_runner_status

TIMEOUT_S = 3.0


def collect_status(settings: Settings, base_url: str | None) -> PipelineStatus:
    """Everything `enrolment status` shows. `base_url=None` skips the API check."""
    runner = read_runner_status(settings.data_dir)
    restarts = {w["index"]: w["restarts"] for w in runner["workers"]} if runner else {}
    return stack.collect_status(bootstrap.build_status_sources(settings, base_url, TIMEOUT_S, restarts))


def _mark(ok: bool | None) -> str:
    return {True: "[green]✔[/]", False: "[red]✘[/]", None: "[dim]–[/]"}[ok]


def _age(now: datetime, moment: datetime | None) -> str:
    if moment is None:
        return "never"
    seconds = (now - moment).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{moment:%Y-%m-%d %H:%M:%S %Z} ({seconds / size:,.1f} {unit} ago)"
    return f"{moment:%Y-%m-%d %H:%M:%S %Z} ({seconds:,.0f} s ago)"


def render(status: PipelineStatus, now: datetime) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="enrolment pipeline", show_header=False)
    checks = ", ".join(f"{k} {'ok' if v else 'DOWN'}" for k, v in status.api_checks.items())
    table.add_row(_mark(status.api_up), "API up", "yes" if status.api_up else ("no" if status.api_up is False else "not checked"))
    table.add_row(_mark(status.api_ready), "API ready", checks or "–")
    table.add_row(_mark(status.broker_reachable), "broker reachable", "yes" if status.broker_reachable else ("no" if status.broker_reachable is False else "not checked"))
    table.add_row(_mark(status.database_reachable), "database reachable", "yes" if status.database_reachable else ("no" if status.database_reachable is False else "not checked"))
    per = " ".join(f"p{p}={n:,}" for p, n in status.lag.items())
    table.add_row(_mark(None if not status.broker_reachable else True), "consumer lag", f"{status.total_lag:,} records ({per})" if status.lag else "–")
    table.add_row(_mark(None), "last event applied", _age(now, status.last_applied_at))
    fresh = status.freshness_s(now)
    table.add_row(_mark(None), "newest occurred_at applied", _age(now, status.newest_occurred_at) if fresh is not None else "–")
    table.add_row(_mark(None), "events applied", f"{status.events_applied:,}" if status.events_applied is not None else "–")
    dead = status.dead_letters
    table.add_row(_mark(None if dead is None else dead == 0), "dead letters waiting", f"{dead:,}" if dead is not None else "–")
    if status.worker_restarts:
        restarts = sum(status.worker_restarts.values())
        per = " ".join(f"w{i}={n}" for i, n in status.worker_restarts.items())
        table.add_row(_mark(restarts == 0), "worker restarts", f"{restarts} ({per})")
    console = Console()
    console.print(table)
    for problem in status.problems:
        console.print(f"[red]{problem}[/]")


@click.command("status")
@click.option("--api", "base_url", default=None, help="API base URL [default: http://API_HOST:API_PORT]")
@click.option("--no-api", is_flag=True, help="skip the API check")
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of a table")
def status_command(base_url: str | None, no_api: bool, as_json: bool) -> None:
    """Pipeline health at a glance: API, broker, consumer lag, last event applied, dead letters."""
    settings = Settings.from_env()
    base_url = None if no_api else (base_url or f"http://{settings.api_host}:{settings.api_port}")
    status = collect_status(settings, base_url)
    now = datetime.now(UTC)
    if as_json:
        click.echo(json.dumps(status.as_dict(now), indent=2))
    else:
        render(status, now)
    raise SystemExit(0 if status.healthy else 1)


commands: list[click.Command] = [status_command]
