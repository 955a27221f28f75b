"""`enrolment run`: the whole service on one machine.

Starts what is not given by the environment (an embedded PostgreSQL 16 in `DATA_DIR/postgres`,
reused by the next start; the Tansu broker, memory only), applies migrations, loads the
localities, creates the topics, then runs the API under gunicorn and the consumer worker(s)
as child processes until Ctrl-C, and stops everything in reverse order. A worker that exits is
restarted with backoff (`supervisor.py`); the API exiting stops the stack. The start-up steps
and the wait for the outbox at stop are use cases of `service_layer/stack.py`; the servers and
the database come from `service/bootstrap.py`.
"""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from typing import cast

import click

from ... import bootstrap
from ...config import KEY_FILE, STACK_FILE, Settings
from ...service_layer.stack import drain_outbox, prepare_stack
from .supervisor import RELAY_STATUS_FILE, WorkerSupervisor

CHILD_STOP_TIMEOUT_S = 20
DRAIN_TIMEOUT_S = 120  # a clean stop waits this long at most for the workers to store what was accepted


def _pseudonym_key(settings: Settings) -> str:
    """The key from the environment, or one generated once and kept in the data dir."""
    if settings.pseudonym_key:
        return settings.pseudonym_key
    path = settings.data_dir / KEY_FILE
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _wait_http_ok(url: str, timeout_s: float, children: list[subprocess.Popen]) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for child in children:
            if child.poll() is not None:
                raise click.ClickException(f"{cast('list[str]', child.args)[2:4]} exited with {child.returncode} during start-up")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise click.ClickException(f"{url} did not answer within {timeout_s}s")


def _spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    # Own process group: Ctrl-C reaches only the runner, which then stops children in order.
    return subprocess.Popen([sys.executable, "-m", *args], env=env, start_new_session=True)


def _stop(children: list[subprocess.Popen]) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + CHILD_STOP_TIMEOUT_S
    for child in children:
        try:
            child.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def start_infrastructure(settings: Settings, stack: ExitStack) -> Settings:
    """Start embedded servers for what the environment leaves unset; return filled settings."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    changes: dict = {}
    if not settings.database_url:
        click.echo(f"starting embedded PostgreSQL 16 in {settings.data_dir / 'postgres'} …")
        pg = bootstrap.build_embedded_postgres(settings.data_dir / "postgres").start()
        stack.callback(pg.stop, quiet=True)
        changes["database_url"] = pg.url
    if not settings.kafka_bootstrap_servers:
        click.echo("starting embedded Kafka-protocol broker (Tansu, memory storage) …")
        broker = bootstrap.build_embedded_broker(settings.data_dir / "tansu.log").start()
        stack.callback(broker.stop)
        changes["kafka_bootstrap_servers"] = broker.bootstrap_servers
    changes["pseudonym_key"] = _pseudonym_key(settings)
    return settings.with_(**changes)


def prepare_data(settings: Settings, fresh_broker: bool) -> None:
    """Database, reference data, topics (`prepare_stack`), said as done."""
    done = prepare_stack(bootstrap.build_stack_database(settings.database_url), bootstrap.build_topic_setup(settings),
                         bootstrap.contribution_rules_file(), fresh_broker=fresh_broker)
    click.echo(f"migrations: {done.migrations} applied now; contribution rules: {done.rules}")
    for name, report in done.reference.items():
        click.echo(f"{name}: {report.summary()}")
    if done.broker_reset:
        click.echo(f"the embedded broker starts empty (memory only): the {done.broker_reset.stored:,} events in the "
                   f"event store keep their figures, and the {done.broker_reset.pending:,} accepted events not yet "
                   "stored are published again from the outbox")


@click.command("run")
@click.option("--consumers", default=2, show_default=True,
              help="consumer worker processes (two decode in parallel while one applies: docs/aggregation.md)")
@click.option("--demo/--no-demo", default=False, help="load the demo data set through the API")
@click.option("--simulate", "simulate_rate", type=float, default=0.0, help="also play simulated agent traffic at this many events/s")
def run_command(consumers: int, demo: bool, simulate_rate: float) -> None:
    """Run the whole service (API, consumer worker) on the embedded default stack."""
    from ..logs import configure_logging

    settings = Settings.from_env(running_stack=False)  # never a stopped stack's servers
    configure_logging(settings.log_level)
    signal.signal(signal.SIGTERM, _interrupt)
    with ExitStack() as stack:
        fresh_broker = not settings.kafka_bootstrap_servers
        settings = start_infrastructure(settings, stack)
        prepare_data(settings, fresh_broker)

        env = {**os.environ, **settings.to_env()}
        env.setdefault("PROMETHEUS_MULTIPROC_DIR", str(_fresh_dir(settings.data_dir / "prometheus")))
        stack.callback(_forget_stack_file, settings)
        _write_stack_file(settings)
        # Stopped in reverse: the API first (nothing more is accepted), then the wait until the
        # workers have stored every accepted event, then relay and workers, then the servers.
        workers = WorkerSupervisor(consumers, lambda i: _spawn(["service.entrypoints.cli", "worker"], _worker_env(env, i)),
                                   settings.data_dir)
        relay = WorkerSupervisor(1, lambda _: _spawn(["service.entrypoints.cli", "relay"], env), settings.data_dir,
                                 status_file=RELAY_STATUS_FILE)
        stack.callback(lambda: _stop([*workers.running(), *relay.running()]))

        def keep_running() -> None:
            workers.check()
            relay.check()

        stack.callback(_drain, settings, keep_running)
        api = _spawn(
            ["gunicorn", "-c", "python:service.entrypoints.api.gunicorn_conf", "service.entrypoints.api.wsgi:app"],
            env,
        )
        stack.callback(lambda: _stop([api]))
        base = f"http://{settings.api_host}:{settings.api_port}"
        _wait_http_ok(f"{base}/healthz", 60, [api])

        click.echo("")
        click.echo(f"API            {base}/v1/events  (POST, bearer token: `enrolment tokens --help`)")
        click.echo(f"API docs       {base}/docs   OpenAPI: {base}/openapi.json")
        click.echo(f"dashboard      {base}/dashboard")
        click.echo(f"metrics        {base}/metrics")
        click.echo(f"SQL            {_sql_endpoint(settings.database_url)}  (an analyst login: `enrolment logins create NAME`)")
        click.echo(f"broker         {settings.kafka_bootstrap_servers}  topic {settings.events_topic}")
        click.echo(f"data dir       {settings.data_dir.resolve()}")
        click.echo(f"other commands (`enrolment --help`) find this stack in {STACK_FILE} and the pseudonym key in "
                   f"the data dir; from another directory: export DATA_DIR={settings.data_dir.resolve()}")
        if demo:
            _load_demo(settings, base)
        if simulate_rate > 0:
            # Not supervised: the simulator may finish or fail without stopping the service.
            stack.callback(_stop, [_spawn(["service.entrypoints.cli", "simulate", "--api", base, "--rate", str(simulate_rate)], env)])
        click.echo("running; Ctrl-C stops everything")
        _supervise(api, workers, relay)


def _write_stack_file(settings: Settings) -> None:
    """What other commands need to reach this stack (Settings.from_env reads it), 0600: the
    database URL carries the service's password."""
    path = settings.data_dir / STACK_FILE
    wanted = ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "EVENTS_TOPIC", "DEAD_LETTER_TOPIC", "CONSUMER_GROUP",
              "API_HOST", "API_PORT", "TOPIC_PARTITIONS")
    env = settings.to_env()
    path.touch(mode=0o600)
    path.write_text("".join(f"{name}={env[name]}\n" for name in wanted), encoding="utf-8")


def _forget_stack_file(settings: Settings) -> None:
    (settings.data_dir / STACK_FILE).unlink(missing_ok=True)


def _drain(settings: Settings, keep_running) -> None:
    """Wait for the workers to store every accepted event (`drain_outbox`),
    for DRAIN_TIMEOUT_S at most; what is left is safe in the outbox."""
    drain_outbox(bootstrap.build_stack_database(settings.database_url), keep_running, click.echo,
                 timeout_s=DRAIN_TIMEOUT_S, clock=time.monotonic, sleep=time.sleep)


def _sql_endpoint(url: str) -> str:
    """Where analysts connect: host, port and database of the service's URL (not its password)."""
    from psycopg.conninfo import conninfo_to_dict

    parts = conninfo_to_dict(url)
    return f"host {parts.get('host', 'localhost')} port {parts.get('port', 5432)} database {parts.get('dbname', '')}"


def _worker_env(env: dict[str, str], index: int) -> dict[str, str]:
    """Each worker its own metrics port (0 stays 0 = off)."""
    port = int(env.get("WORKER_METRICS_PORT", "9108") or 0)
    return {**env, "WORKER_METRICS_PORT": str(port + index if port else 0)}


def _fresh_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
    return path


def _load_demo(settings: Settings, base_url: str) -> None:
    from ...service_layer.demo import DemoRefused
    from ...domain.access import REPORTING

    click.echo("loading the demo data set through the API …")
    try:
        click.echo(bootstrap.build_demo_loader(settings, base_url)().summary())
    except DemoRefused as refused:
        raise click.ClickException(f"{refused} at {base_url}") from refused
    with bootstrap.build_token_store(settings.database_url) as tokens:
        _, token = tokens.issue(REPORTING, None, label="enrolment run --demo")
    click.echo(f"reporting token for the dashboard and /v1/reports (revoke with `enrolment tokens revoke`): {token}")


def _interrupt(signum: int, frame) -> None:
    raise KeyboardInterrupt  # SIGTERM stops as cleanly as Ctrl-C


def _supervise(api: subprocess.Popen, *supervisors: WorkerSupervisor) -> None:
    """Until Ctrl-C: a worker that exits is restarted (with backoff); the API exiting (gunicorn
    restarts its own workers, so it exits only on failure) stops everything."""
    try:
        while True:
            code = api.poll()
            if code is not None:
                raise click.ClickException(f"the API {cast('list[str]', api.args)[2:4]} exited with {code}; stopping")
            for supervisor in supervisors:
                supervisor.check()
            time.sleep(0.5)
    except KeyboardInterrupt:
        click.echo("\nstopping …")


commands = [run_command]
