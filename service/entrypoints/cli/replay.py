"""`enrolment replay`: rebuild every aggregate into fresh tables and swap them in atomically,
from the event store in PostgreSQL (the system of record: the default), from the events topic
(offset zero: `--from-topic`) or from a JSON-lines export (`--from-file`). A rebuild that would
hold fewer events than the live store (a topic that expired or lost records) is refused.
The use case is `service_layer.rebuild`; `bootstrap.build_rebuild` builds its collaborators.

`enrolment replay export FILE` writes the topic's records as JSON lines (one record value per
line). The topic carries raw participant ids, so the file is personal data (written 0600).
"""
from __future__ import annotations

import os
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ...config import Settings


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[rate]}"), TimeRemainingColumn())


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
    from ...bootstrap import build_rebuild
    # CatchUpFailed: the topic cannot catch up with the live consumer (translated below).
    from ...service_layer.rebuild import CatchUpFailed, RebuildRefused, rebuild
    from ..worker import interpreter_tuned_for_batches

    settings = Settings.from_env()
    with build_rebuild(settings, from_topic=from_topic, from_file=from_file) as (target, source, decode), \
            interpreter_tuned_for_batches(), _progress() as progress:
        if from_file:
            task = progress.add_task("replaying file", total=source.total(), rate="")
        elif from_topic:
            task = progress.add_task("replaying topic", total=None, rate="")
        else:
            task = progress.add_task("replaying the event store", total=target.live_event_count(), rate="")

        def show(tally) -> None:
            total = max(source.total(), tally.read) if from_topic else None
            progress.update(task, completed=tally.read, total=total, rate=f"{tally.applied:,} applied")

        try:
            tally = rebuild(target, source, decode, on_batch=show)
        except RebuildRefused as refused:
            raise click.ClickException(f"{refused}. Nothing changed; `enrolment replay` rebuilds from the event store") from refused
        except CatchUpFailed as failed:
            raise click.ClickException(str(failed)) from failed
    click.echo(f"rebuilt and swapped in: {tally.applied:,} events applied, "
               f"{tally.duplicates:,} duplicates skipped, {tally.poison:,} poison records skipped")


@replay_group.command("export")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def export_command(path: Path) -> None:
    """Write every record of the events topic as JSON lines (personal data: file mode 0600)."""
    from ...bootstrap import build_topic_records

    written = skipped = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with build_topic_records(Settings.from_env()) as topic, os.fdopen(fd, "wb") as out, _progress() as progress:
        task = progress.add_task("exporting", total=None, rate="")
        for values in topic.batches():
            for value in values:
                if value is None or b"\n" in value:
                    skipped += 1  # not one JSON line: poison the worker dead-lettered
                    continue
                out.write(value + b"\n")
                written += 1
            progress.update(task, completed=written + skipped, total=topic.total(), rate="")
    click.echo(f"exported {written:,} records to {path} ({skipped:,} skipped)")


commands: list[click.Command] = [replay_group]
