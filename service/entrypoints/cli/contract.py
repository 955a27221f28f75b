"""`enrolment contract export`: write the topic's JSON Schemas to `schemas/`."""
from __future__ import annotations

from pathlib import Path

import click

from ...contract.jsonschema import documents, render

DEFAULT_DIR = Path("schemas")  # the repository's, run from its root (a developer's command)


@click.group("contract")
def contract() -> None:
    """The published contract of the events topic."""


@contract.command("export")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_DIR, show_default=True)
@click.option("--check", is_flag=True, help="write nothing; fail if the files differ from the schemas")
def export(out: Path, check: bool) -> None:
    """Generate the JSON Schema files from the marshmallow schemas."""
    stale = []
    for name, document in documents().items():
        path = out / name
        text = render(document)
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
            continue
        out.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        click.echo(f"wrote {path}")
    if stale:
        raise click.ClickException(f"out of date (run `enrolment contract export`): {', '.join(stale)}")


commands: list[click.Command] = [contract]
