"""The `enrolment` command line: one click group, one module per area."""
from __future__ import annotations

import importlib

import click

from ...service_layer.stack import EmbeddedUnavailable, MigrationError

# Each module defines `commands: list[click.Command]`.
COMMAND_MODULES = (
    "run",  # the whole service on the embedded default stack
    "tokens",  # agent and reporting tokens
    "logins",  # analysts' SQL logins (members of reporting_reader)
    "migrate",  # migrations + contribution rules (the one-shot job of docker-compose)
    "contract",  # export the published JSON Schemas
    "worker",  # the consumer worker
    "relay",  # the outbox relay: accepted events the broker may not hold, published again
    "deadletters",  # list / replay dead letters
    "replay",  # rebuild aggregates from the topic or a JSON-lines export
    "reference",  # localities, denominators, targets
    "simulate",  # agent traffic simulator
    "status",  # pipeline health at a glance
)


class EnrolmentGroup(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (MigrationError, EmbeddedUnavailable) as exc:  # the message, not a traceback
            raise click.ClickException(str(exc)) from exc


@click.group(cls=EnrolmentGroup, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Enrolment reporting service for Vietnam's social insurance."""


def _register() -> None:
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        for command in module.commands:
            main.add_command(command)


_register()
