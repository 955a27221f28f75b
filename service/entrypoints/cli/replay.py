"""`enrolment replay`: rebuild every aggregate into fresh tables and swap them in atomically,
from the event store in PostgreSQL (the system of record: the default), from the events topic
(offset zero: `--from-topic`) or from a JSON-lines export (`--from-file`). A rebuild that would
hold fewer events than the live store (a topic that expired or lost records) is refused.

`enrolment replay export FILE` writes the topic's records as JSON lines (one record value per
line). The topic carries raw participant ids, so the file is personal data (written 0600).
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ...config import Settings


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[rate]}"), TimeRemainingColumn())


class Rebuild:
    """Applies record values to a rebuild schema in batches; counts what it skips."""

    def __init__(self, settings: Settings, schema: str):
        from ...adapters.postgres.rebuild import connect_to_rebuild
        from ...domain.identity import Pseudonymiser
        from ...contract.digest import digest_key

        self.settings = settings
        self.conn = connect_to_rebuild(settings.database_url, schema)
        self.pseudonymiser = Pseudonymiser(settings.pseudonym_key)
        self.digest_key = digest_key(settings.pseudonym_key)
        self.applied = self.duplicates = self.poison = 0

    def apply_rows(self, enrolments: list[tuple], conferences: list[tuple], retractions: list[tuple]) -> None:
        """Rows as the event store holds them (pseudonymised already)."""
        from ...adapters.postgres.aggregates import apply_batch

        self._count(apply_batch(self.conn, enrolments, conferences, retractions, forget_outbox=False))

    def apply(self, values: Iterable[bytes]) -> None:
        from ...adapters.postgres.aggregates import CONFERENCE, ENROLMENT, RETRACTION, apply_batch
        from ..consumer.decoding import POISON, record_row

        rows: dict[str, list[tuple]] = {ENROLMENT: [], CONFERENCE: [], RETRACTION: []}
        for value in values:
            try:
                table, row = record_row(value, self.pseudonymiser, self.digest_key)
            except POISON:
                self.poison += 1  # the live worker dead-lettered it already
                continue
            rows[table].append(row)
        self._count(apply_batch(self.conn, rows[ENROLMENT], rows[CONFERENCE], rows[RETRACTION],
                                forget_outbox=False))

    def _count(self, result) -> None:
        # Every event stored counts as applied: retractions (refused ones were dead-lettered by the
        # live worker) and the events they took out before they were counted.
        self.applied += result.applied + result.conferences + result.retractions + result.retracted_on_arrival
        self.duplicates += result.duplicates


def _topic_reader(settings: Settings):
    from ...adapters.kafka.consumer import make_consumer, topic_partitions

    consumer = make_consumer(settings, group_id=None, client_id="enrolment-replay")
    partitions = topic_partitions(consumer, settings.events_topic)
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    return consumer, partitions


def _chunks(lines: Iterator[bytes], size: int) -> Iterator[list[bytes]]:
    chunk: list[bytes] = []
    for line in lines:
        line = line.strip()
        if line:
            chunk.append(line)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@click.group("replay", invoke_without_command=True)
@click.option("--from-topic", "from_topic", is_flag=True,
              help="rebuild from the events topic (offset zero) instead of the event store")
@click.option("--from-file", "from_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="rebuild from a JSON-lines export instead of the event store")
@click.pass_context
def replay_group(ctx: click.Context, from_topic: bool, from_file: Path | None) -> None:
    """Rebuild all aggregates into fresh tables, then swap them in."""
    if ctx.invoked_subcommand is not None:
        return
    if from_topic and from_file:
        raise click.UsageError("--from-topic and --from-file exclude each other")
    from ...adapters.postgres import migrate
    from ...adapters.postgres.rebuild import (
        create_rebuild_schema, drop_rebuild_schema, stored_event_count, swap_in,
    )
    from ..worker import interpreter_tuned_for_batches

    settings = Settings.from_env()
    migrate(settings.database_url)
    schema = create_rebuild_schema(settings.database_url)
    rebuild = Rebuild(settings, schema)
    try:
        with interpreter_tuned_for_batches(), _progress() as progress:
            if from_file:
                _replay_file(rebuild, from_file, progress)
            elif from_topic:
                _replay_topic(rebuild, progress)
            else:
                _replay_store(rebuild, schema, progress)
            live, rebuilt = stored_event_count(rebuild.conn), stored_event_count(rebuild.conn, schema)
            if rebuilt < live:
                raise click.ClickException(
                    f"the rebuild holds {rebuilt:,} events, the live event store {live:,}: swapping it in would "
                    f"lose {live - rebuilt:,} (the topic's retention, or a broker that lost records). Nothing "
                    f"changed; `enrolment replay` rebuilds from the event store")
            swap_in(rebuild.conn, schema)
    finally:
        rebuild.conn.close()
        drop_rebuild_schema(settings.database_url, schema)
    click.echo(f"rebuilt and swapped in: {rebuild.applied:,} events applied, "
               f"{rebuild.duplicates:,} duplicates skipped, {rebuild.poison:,} poison records skipped")


def _replay_store(rebuild: Rebuild, schema: str, progress: Progress) -> None:
    from ...adapters.postgres.aggregates import CONFERENCE_COLUMNS, EVENT_COLUMNS, RETRACTION_COLUMNS
    from ...adapters.postgres.rebuild import lock_and_read_live_offsets, stored_event_count, stored_event_rows

    s = rebuild.settings
    task = progress.add_task("replaying the event store", total=stored_event_count(rebuild.conn), rate="")
    rebuild.conn.commit()  # each batch's apply commits on its own until the swap's transaction

    # Retractions first: an event whose retraction waits is never counted, where retracting it
    # after it was counted would re-derive its participant (the figures are the same).
    # (store, its columns, its place among apply_batch's row lists)
    stores = (("event_retractions", RETRACTION_COLUMNS, 2), ("enrolment_events", EVENT_COLUMNS, 0),
              ("conference_events", CONFERENCE_COLUMNS, 1))

    def apply_all(missing_from: str | None) -> None:
        for table, columns, place in stores:
            chunks = stored_event_rows(s.database_url, table, columns, s.consumer_max_batch, missing_from)
            # The catch-up runs inside the swap's transaction: read it whole before applying.
            for rows in (list(chunks) if missing_from else chunks):
                lists: list[list[tuple]] = [[], [], []]
                lists[place] = rows
                rebuild.apply_rows(*lists)
                progress.update(task, advance=len(rows), rate=f"{rebuild.applied:,} applied")

    apply_all(None)
    # Under the swap and apply locks no live apply is in flight: what the live store holds
    # beyond the rebuild now is exactly what it stored meanwhile.
    lock_and_read_live_offsets(rebuild.conn, s.consumer_group)
    apply_all(schema)


def _replay_file(rebuild: Rebuild, from_file: Path, progress: Progress) -> None:
    from ...adapters.postgres.rebuild import lock_and_read_live_offsets

    total = sum(1 for _ in from_file.open("rb"))
    task = progress.add_task("replaying file", total=total, rate="")
    with from_file.open("rb") as lines:
        for chunk in _chunks(lines, rebuild.settings.consumer_max_batch):
            rebuild.apply(chunk)
            progress.update(task, advance=len(chunk), rate=f"{rebuild.applied:,} applied")
    lock_and_read_live_offsets(rebuild.conn, rebuild.settings.consumer_group)


def _replay_topic(rebuild: Rebuild, progress: Progress) -> None:
    from ...adapters.kafka.consumer import read_to_end
    from ...adapters.postgres.rebuild import lock_and_read_live_offsets

    settings = rebuild.settings
    consumer, partitions = _topic_reader(settings)
    task = progress.add_task("replaying topic", total=None, rate="")
    read = 0
    for records in read_to_end(consumer, partitions):
        rebuild.apply(r.value for r in records)
        read += len(records)
        highwater = sum(consumer.highwater(tp) or 0 for tp in partitions)
        progress.update(task, completed=read, total=max(highwater, read), rate=f"{rebuild.applied:,} applied")
    # Catch up, under the apply lock, to what the live consumer has applied.
    live = lock_and_read_live_offsets(rebuild.conn, settings.consumer_group)
    until = {tp: live.get((tp.topic, tp.partition), 0) for tp in partitions}
    behind = {tp: o for tp, o in until.items() if consumer.position(tp) < o}
    if behind:
        for records in read_to_end(consumer, list(behind), until=behind, idle_timeout_s=10):
            rebuild.apply(r.value for r in records)
            read += len(records)
        still = [tp for tp, o in behind.items() if consumer.position(tp) < o]
        if still:
            raise click.ClickException(f"could not catch up with the live consumer on {still}")
    consumer.close(autocommit=False)
    progress.update(task, completed=read, total=read)


@replay_group.command("export")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def export_command(path: Path) -> None:
    """Write every record of the events topic as JSON lines (personal data: file mode 0600)."""
    from ...adapters.kafka.consumer import read_to_end

    settings = Settings.from_env()
    consumer, partitions = _topic_reader(settings)
    written = skipped = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out, _progress() as progress:
        task = progress.add_task("exporting", total=None, rate="")
        for records in read_to_end(consumer, partitions):
            for r in records:
                if r.value is None or b"\n" in r.value:
                    skipped += 1  # not one JSON line: poison the worker dead-lettered
                    continue
                out.write(r.value + b"\n")
                written += 1
            progress.update(task, completed=written + skipped,
                            total=sum(consumer.highwater(tp) or 0 for tp in partitions), rate="")
    consumer.close(autocommit=False)
    click.echo(f"exported {written:,} records to {path} ({skipped:,} skipped)")


commands: list[click.Command] = [replay_group]
