"""`enrolment migrate`: apply the migrations and load the dated contribution rules."""
from __future__ import annotations

from pathlib import Path

import click

from ...adapters.postgres import migrate as apply_migrations
from ...adapters.postgres.contribution_rules import SEED_FILE, load_seed
from ...config import Settings


def prepare_database(url: str, rules_file: Path = SEED_FILE) -> tuple[int, int]:
    """Migrations, then the contribution rules from the seeds CSV (replacing the table's rows).
    Returns (migrations applied now, rules loaded). The runner and the one-shot job call this."""
    applied = apply_migrations(url)
    return len(applied), load_seed(url, rules_file)


def database_url_option(f):
    return click.option("--database-url", envvar="DATABASE_URL", required=True, show_envvar=True,
                        help="PostgreSQL URL")(f)


@click.command("migrate")
@database_url_option
@click.option("--rules-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=SEED_FILE,
              show_default=True, help="contribution rules CSV")
def migrate_command(database_url: str, rules_file: Path) -> None:
    """Apply pending migrations and (re)load the contribution plausibility rules."""
    migrations, rules = prepare_database(database_url or Settings.from_env().database_url, rules_file)
    click.echo(f"applied {migrations} migration(s); loaded {rules} contribution rule(s) from {rules_file}")


commands: list[click.Command] = [migrate_command]
