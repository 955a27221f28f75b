"""`enrolment relay`: publish again the outbox rows the broker may not hold, until SIGTERM/SIGINT."""
from __future__ import annotations

import signal

import click

from ...config import Settings


@click.command("relay")
def relay_command() -> None:
    """Relay the outbox to the events topic (one process per stack; the runner starts it)."""
    from ...bootstrap import build_relay, build_stack_database
    from ..logs import configure_logging

    settings = Settings.from_env()
    configure_logging(settings.log_level)
    build_stack_database(settings.database_url).migrate()
    relay = build_relay(settings)
    signal.signal(signal.SIGTERM, relay.request_stop)
    signal.signal(signal.SIGINT, relay.request_stop)
    relay.run()


commands = [relay_command]
