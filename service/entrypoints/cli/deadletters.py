"""`enrolment deadletters`: see, export and re-publish the records the worker refused.

The worker sends a record it cannot decode or that breaks the contract, unchanged, to the
dead-letter topic with headers naming its source topic, partition, offset and the error.
`list` shows them (no record contents: they may hold personal ids), `export` writes the
record values as JSON lines to fix by hand (file mode 0600), `replay` publishes them again to
the events topic — as they are (e.g. after a contract fix in the worker) or from a fixed
export. A replayed record is validated again; one still broken returns to the dead letters.
The topic is `adapters/kafka/dead_letter_topic.py`, the replay `service_layer/dead_letters.py`.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from ... import bootstrap
from ...config import Settings
from ...service_layer.dead_letters import redrive_export, redrive_letters


@click.group("deadletters")
def deadletters_group() -> None:
    """Records refused by the consumer worker (dead-letter topic)."""


@deadletters_group.command("list")
def list_command() -> None:
    """Show every dead letter: where it came from and why it was refused."""
    settings = Settings.from_env()
    letters = bootstrap.build_dead_letter_topic(settings).read_all()
    table = Table(title=f"{len(letters)} dead letters in {settings.dead_letter_topic}")
    for column in ("#", "source", "partition", "offset", "bytes", "error"):
        table.add_column(column)
    for d in letters:
        table.add_row(str(d.dead_letter_offset), d.source_topic, str(d.source_partition),
                      str(d.source_offset), str(len(d.value or b"")), d.error[:200])
    Console().print(table)


@deadletters_group.command("export")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def export_command(path: Path) -> None:
    """Write the dead letters as JSON lines {dead_letter_offset, source…, error, value} to fix."""
    letters = bootstrap.build_dead_letter_topic(Settings.from_env()).read_all()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        for d in letters:
            out.write(json.dumps({
                "dead_letter_offset": d.dead_letter_offset, "source_topic": d.source_topic,
                "source_partition": d.source_partition, "source_offset": d.source_offset,
                "error": d.error, "value": (d.value or b"").decode("utf-8", errors="replace"),
            }, ensure_ascii=False) + "\n")
    click.echo(f"exported {len(letters)} dead letters to {path}")


@deadletters_group.command("replay")
@click.option("--offset", "offsets", type=int, multiple=True, help="dead-letter offset to replay (repeatable; default all)")
@click.option("--from-file", "from_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="publish the `value` of each line of a (fixed) export instead")
def replay_command(offsets: tuple[int, ...], from_file: Path | None) -> None:
    """Publish dead letters again to the events topic, as they are or from a fixed export."""
    settings = Settings.from_env()
    topic = bootstrap.build_dead_letter_topic(settings)
    if from_file:
        lines = [json.loads(line) for line in from_file.read_text(encoding="utf-8").splitlines() if line.strip()]
        count = redrive_export(lines, offsets, bootstrap.build_record_key(settings), topic.publish_to_events)
    else:
        count = redrive_letters(topic.read_all(), offsets, topic.publish_to_events)
    click.echo(f"re-published {count} records to {settings.events_topic}")


commands: list[click.Command] = [deadletters_group]
