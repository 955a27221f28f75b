"""`enrolment migrate`: apply the migrations and load the dated contribution rules."""
from __future__ import annotations

from pathlib import Path

import click

from ... import bootstrap
from ...config import Settings, env_name
from ...service_layer import stack


def prepare_database(url: str, rules_file: Path | None = None) -> tuple[int, int]:
    """Migrations, then the contribution rules (default: the seeds CSV), replacing the table's
    rows. Returns (migrations applied now, rules loaded). The one-shot job and the benchmarks
    call this."""
    return stack.prepare_database(bootstrap.build_stack_database(url), rules_file or bootstrap.contribution_rules_file())


def _running_stack_database_url() -> str | None:
    return Settings.from_env().database_url or None


def database_url_option(f):
    """--database-url, else $DATABASE_URL, else the running stack's (DATA_DIR/stack.env)."""
    return click.option("--database-url", envvar=env_name("database_url"), required=True, show_envvar=True,
                        default=_running_stack_database_url, show_default="the running stack's",
                        help="PostgreSQL URL")(f)


@click.command("migrate")
@database_url_option
@click.option("--rules-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=bootstrap.contribution_rules_file, show_default="seeds/contribution_rules.csv",
              help="contribution rules CSV")
@click.option("--create-topics", is_flag=True,
              help="also create the Kafka topics (KAFKA_BOOTSTRAP_SERVERS, EVENTS_TOPIC, ...)")
@click.option("--kafka-acls", is_flag=True,
              help="also grant the ACLs of the producer, consumer and reader principals (run as the admin principal)")
def migrate_command(database_url: str, rules_file: Path, create_topics: bool, kafka_acls: bool) -> None:
    """Apply pending migrations and (re)load the contribution plausibility rules."""
    migrations, rules = prepare_database(database_url, rules_file)
    click.echo(f"applied {migrations} migration(s); loaded {rules} contribution rule(s) from {rules_file}")
    settings = Settings.from_env()
    if create_topics:
        bootstrap.build_topic_setup(settings)()
        click.echo(f"topics ready: {settings.events_topic}, {settings.dead_letter_topic}")
    if kafka_acls:
        click.echo(f"ACLs granted: {bootstrap.build_acl_grant(settings)()}")


commands: list[click.Command] = [migrate_command]
