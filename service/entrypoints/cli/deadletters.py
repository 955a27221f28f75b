"""`enrolment deadletters`: see, export and re-publish the records the worker refused.

The worker sends a record it cannot decode or that breaks the contract, unchanged, to the
dead-letter topic with headers naming its source topic, partition, offset and the error.
`list` shows them (no record contents: they may hold personal ids), `export` writes the
record values as JSON lines to fix by hand (file mode 0600), `replay` publishes them again to
the events topic — as they are (e.g. after a contract fix in the worker) or from a fixed
export. A replayed record is validated again; one still broken returns to the dead letters.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from ...config import Settings


def _dead_letters(settings: Settings):
    from ...adapters.kafka.consumer import DeadLetter, make_consumer, read_to_end, topic_partitions

    consumer = make_consumer(settings, group_id=None, client_id="enrolment-deadletters")
    try:
        partitions = topic_partitions(consumer, settings.dead_letter_topic)
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        return [DeadLetter.from_record(r) for batch in read_to_end(consumer, partitions) for r in batch]
    finally:
        consumer.close(autocommit=False)


def _key(settings: Settings, value: bytes) -> bytes | None:
    """The key the API would give this record (None if it still does not decode)."""
    from ...adapters.kafka.publisher import record_key
    from ...contract.events import decode_record
    from ...domain.identity import Pseudonymiser
    from ..consumer.decoding import POISON

    try:
        return record_key(decode_record(value), Pseudonymiser(settings.pseudonym_key))
    except POISON:
        return None


@click.group("deadletters")
def deadletters_group() -> None:
    """Records refused by the consumer worker (dead-letter topic)."""


@deadletters_group.command("list")
def list_command() -> None:
    """Show every dead letter: where it came from and why it was refused."""
    settings = Settings.from_env()
    letters = _dead_letters(settings)
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
    settings = Settings.from_env()
    letters = _dead_letters(settings)
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
    from ...adapters.kafka.consumer import make_dead_letter_producer

    settings = Settings.from_env()
    if from_file:
        lines = [json.loads(line) for line in from_file.read_text(encoding="utf-8").splitlines() if line.strip()]
        chosen = [(_key(settings, line["value"].encode()), line["value"].encode()) for line in lines
                  if not offsets or line.get("dead_letter_offset") in offsets]
    else:
        chosen = [(d.key, d.value) for d in _dead_letters(settings)
                  if not offsets or d.dead_letter_offset in offsets]
    producer = make_dead_letter_producer(settings, "enrolment-deadletters-replay")
    try:
        futures = [producer.send(settings.events_topic, key=key, value=value) for key, value in chosen]
        producer.flush(60)
        for future in futures:
            future.get(timeout=60)
    finally:
        producer.close(timeout=5)
    click.echo(f"re-published {len(chosen)} records to {settings.events_topic}")


commands: list[click.Command] = [deadletters_group]
