"""`enrolment reference …`: load localities, denominators and targets (with --dry-run).

Denominators and targets change the coverage figures everybody reads: like the API, the
commands that write them need a token of scope `reference` (`--token` or
$ENROLMENT_REFERENCE_TOKEN; `enrolment tokens issue-reference`), and a token limited to
localities writes rows only inside them. `defaults` (and `enrolment run`) load the locality
tree and the national Resolution 28-NQ/TW targets every installation starts with, without one.
"""
from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from ... import bootstrap
from ...domain.reference_data import LoadReport
from ...service_layer.reporting import NotAReferenceWriter, reference_writer
from .migrate import database_url_option

console = Console(stderr=True)

dry_run_option = click.option(
    "--dry-run", is_flag=True, help="Validate and report what would change; write nothing."
)


def print_report(what: str, report: LoadReport, max_rejected: int = 20) -> None:
    table = Table(title=f"{what}{' (dry run: nothing written)' if report.dry_run else ''}")
    for column in ("added", "changed", "unchanged", "rejected"):
        table.add_column(column, justify="right")
    table.add_row(*(f"{n:,}" for n in (report.added, report.changed, report.unchanged, len(report.rejected))))
    console.print(table)
    for r in report.rejected[:max_rejected]:
        console.print(f"[red]rejected[/red] line {r.line} code {r.code!r}: {r.reason}")
    if len(report.rejected) > max_rejected:
        console.print(f"… and {len(report.rejected) - max_rejected} more rejected rows")


def run_with_status(what: str, load) -> LoadReport:
    with console.status(f"{what}: starting") as status:
        report = load(lambda step: status.update(f"{what}: {step}"))
    print_report(what, report)
    return report


token_option = click.option(
    "--token", envvar="ENROLMENT_REFERENCE_TOKEN", required=True, show_envvar=True,
    help="a token of scope reference (enrolment tokens issue-reference); its localities limit the rows written")


def writer_localities(database_url: str, token: str) -> frozenset[str]:
    """The localities a reference token may write (empty: the nation); refuses any other token."""
    try:
        return reference_writer(bootstrap.build_token_lookup(database_url), token)
    except NotAReferenceWriter as refused:
        raise click.ClickException(str(refused)) from refused


@click.group("reference")
def reference() -> None:
    """Reference data: localities, denominators, targets."""


@reference.command("localities")
@click.option("--csv", "csv_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="code,name,level,parent_code CSV; default: today's 34 provinces and 3,321 communes.")
@database_url_option
@dry_run_option
def localities(csv_path: Path | None, database_url: str, dry_run: bool) -> None:
    """Load the locality tree (idempotent) and its closure."""
    files = bootstrap.build_reference_files(database_url)
    report = run_with_status(f"localities from {csv_path}" if csv_path else "localities (vietnam-provinces)",
                             lambda say: files.localities(csv_path, dry_run=dry_run, progress=say))
    if report.rejected:
        raise SystemExit(1)


@reference.command("denominators")
@click.argument("csv_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@database_url_option
@token_option
@dry_run_option
def denominators(csv_path: Path, database_url: str, token: str, dry_run: bool) -> None:
    """Load denominators: CSV locality_code,year,measure,value[,source]."""
    within = writer_localities(database_url, token)
    files = bootstrap.build_reference_files(database_url)
    report = run_with_status(
        f"denominators from {csv_path}",
        lambda say: files.denominators(csv_path, dry_run=dry_run, progress=say, within=within),
    )
    if report.rejected:
        raise SystemExit(1)


@reference.command("targets")
@click.argument("csv_path", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@database_url_option
@token_option
@dry_run_option
def targets(csv_path: Path | None, database_url: str, token: str, dry_run: bool) -> None:
    """Load targets: CSV locality_code,year,subject,basis,target_count,target_rate_pct,
    denominator_measure[,source]; default: the national targets of Resolution 28-NQ/TW."""
    within = writer_localities(database_url, token)
    files = bootstrap.build_reference_files(database_url)
    path = csv_path or files.default_targets
    report = run_with_status(
        f"targets from {path}",
        lambda say: files.targets(path, dry_run=dry_run, progress=say, within=within),
    )
    if report.rejected:
        raise SystemExit(1)


@reference.command("defaults")
@database_url_option
@dry_run_option
def defaults(database_url: str, dry_run: bool) -> None:
    """Load today's localities and the Resolution 28-NQ/TW targets (what `enrolment run` does)."""
    with console.status("reference data") as status:
        reports = bootstrap.build_reference_files(database_url).defaults(dry_run=dry_run, progress=status.update)
    for what, report in reports.items():
        print_report(what, report)


@reference.command("demo")
@click.option("--api-url", required=True, help="base URL of the running API, e.g. http://127.0.0.1:8000")
@database_url_option
def demo(api_url: str, database_url: str) -> None:
    """Load the demo data set: reference data, demo agents and tokens, ~48,000 events through the API."""
    from rich.progress import Progress as Bar

    from ...config import Settings
    from ...domain.demo import demo_events
    from ...service_layer.demo import DemoRefused

    load_demo = bootstrap.build_demo_loader(Settings.from_env().with_(database_url=database_url), api_url)
    with Bar(console=console) as bar:
        task = bar.add_task("posting demo events", total=len(demo_events()))
        try:
            report = load_demo(progress=lambda n: bar.advance(task, n))
        except DemoRefused as refused:
            raise click.ClickException(f"{refused} at {api_url}") from refused
    for what, ref_report in report.reference.items():
        console.print(f"{what}: {ref_report.summary()}")
    console.print(report.summary())
    for rule in sorted(set(report.rejected))[:10]:
        console.print(f"[red]rejected[/red]: {rule}")
    if report.rejected:
        raise SystemExit(1)


commands: list[click.Command] = [reference]
