"""`enrolment worker`: run one consumer worker until SIGTERM/SIGINT."""
from __future__ import annotations

import os
import signal

import click

from ...config import Settings


@click.command("worker")
@click.option("--metrics-port", type=int, default=None,
              help="Prometheus port (default WORKER_METRICS_PORT, 9108; 0 = off)")
def worker_command(metrics_port: int | None) -> None:
    """Consume the events topic into the coverage aggregates (one process of the group)."""
    # The API's gunicorn uses prometheus_client's multiprocess mode through this variable; the
    # worker keeps its metrics in memory on its own port, so it must not inherit it.
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    from ...bootstrap import build_consumer, build_stack_database
    from ..logs import configure_logging

    settings = Settings.from_env()
    if metrics_port is not None:
        settings = settings.with_(worker_metrics_port=metrics_port)
    configure_logging(settings.log_level)
    build_stack_database(settings.database_url).migrate()
    worker = build_consumer(settings)
    signal.signal(signal.SIGTERM, worker.request_stop)
    signal.signal(signal.SIGINT, worker.request_stop)
    worker.run()


commands = [worker_command]
