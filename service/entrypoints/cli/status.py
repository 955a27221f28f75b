"""`enrolment status`: API up, broker reachable, consumer lag, last event applied, dead letters
waiting — at a glance, or as JSON (`--json`) for scripts. Exit code 1 when something is wrong."""
from __future__ import annotations

import json
from datetime import UTC, datetime

import click
import psycopg
import requests

from ...config import Settings
from ...domain.pipeline_status import PipelineStatus, consumer_lag
from ...adapters.postgres.aggregates import stored_offsets
from .supervisor import read_runner_status

TIMEOUT_S = 3.0


def _check_api(status: PipelineStatus, base_url: str) -> None:
    try:
        status.api_up = requests.get(f"{base_url}/healthz", timeout=TIMEOUT_S).status_code == 200
        ready = requests.get(f"{base_url}/readyz", timeout=TIMEOUT_S)
        status.api_ready = ready.status_code == 200
        status.api_checks = ready.json().get("checks", {}) if ready.headers.get("content-type", "").startswith("application/json") else {}
    except requests.RequestException as exc:
        status.api_up = status.api_ready = False
        status.problems.append(f"API {base_url}: {type(exc).__name__}")


def _read_database(status: PipelineStatus, settings: Settings) -> dict[tuple[str, int], int]:
    """Offsets the consumer group has applied, and the aggregation status row."""
    try:
        with psycopg.connect(settings.database_url, connect_timeout=int(TIMEOUT_S)) as conn:
            offsets = stored_offsets(conn, settings.consumer_group)
            row = conn.execute(
                "SELECT last_applied_at, newest_occurred_at, events_applied + conferences_applied FROM aggregation_status"
            ).fetchone()
        status.database_reachable = True
        if row:
            status.last_applied_at, status.newest_occurred_at, status.events_applied = row
        return offsets
    except psycopg.Error as exc:
        status.database_reachable = False
        status.problems.append(f"database: {type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}")
        return {}


def _read_broker(status: PipelineStatus, settings: Settings, offsets: dict) -> None:
    from kafka.errors import KafkaError

    from ...adapters.kafka.access import client_options
    from ...adapters.kafka.watermarks import high_watermarks

    try:
        marks = high_watermarks(settings.kafka_bootstrap_servers, [settings.events_topic, settings.dead_letter_topic],
                                near=offsets, timeout_s=TIMEOUT_S, **client_options(settings))
    except (KafkaError, TimeoutError, LookupError) as exc:
        status.broker_reachable = False
        status.problems.append(f"broker {settings.kafka_bootstrap_servers}: {type(exc).__name__}: {exc}")
        return
    status.broker_reachable = True
    status.lag = consumer_lag(marks, offsets, settings.events_topic)
    status.dead_letters = sum(n for (topic, _), n in marks.items() if topic == settings.dead_letter_topic)


def collect_status(settings: Settings, base_url: str | None) -> PipelineStatus:
    """Everything `enrolment status` shows. `base_url=None` skips the API check."""
    status = PipelineStatus()
    if base_url:
        _check_api(status, base_url.rstrip("/"))
    offsets = _read_database(status, settings) if settings.database_url else {}
    if settings.kafka_bootstrap_servers:
        _read_broker(status, settings, offsets)
    runner = read_runner_status(settings.data_dir)
    if runner:
        status.worker_restarts = {w["index"]: w["restarts"] for w in runner["workers"]}
    return status


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
