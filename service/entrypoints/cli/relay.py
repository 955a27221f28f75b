"""`enrolment relay`: publish again the outbox rows the broker may not hold, until SIGTERM/SIGINT."""
from __future__ import annotations

import signal

import click

from ...config import Settings


@click.command("relay")
def relay_command() -> None:
    """Relay the outbox to the events topic (one process per stack; the runner starts it)."""
    from ...adapters.kafka.topics import ensure_topics
    from ...adapters.postgres import migrate
    from ...bootstrap import build_relay
    from ..logs import configure_logging

    settings = Settings.from_env()
    configure_logging(settings.log_level)
    migrate(settings.database_url)
    relay = build_relay(settings)
    signal.signal(signal.SIGTERM, relay.request_stop)
    signal.signal(signal.SIGINT, relay.request_stop)
    relay.run(ensure_topics=lambda: ensure_topics(settings))


commands = [relay_command]
