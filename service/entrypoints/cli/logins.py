"""`enrolment logins`: SQL logins for analysts, members of the read-only `reporting_reader`
(the `reporting` views, nothing else), with the reporting timeouts of the database; with
`--locality`, limited by PostgreSQL to those subtrees. A generated password is printed once;
the database keeps only its SCRAM verifier."""
from __future__ import annotations

import secrets
import sys

import click

# The login rules' error (translated into a click error) and the default limit of the option.
from ...domain.access import DEFAULT_CONNECTION_LIMIT, LoginError
from ...bootstrap import build_login_store
from .migrate import database_url_option


@click.group("logins")
def logins() -> None:
    """SQL logins for analysts (read the reporting views with psql, a BI tool, …)."""


@logins.command("create")
@database_url_option
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="read the password from stdin instead of generating one")
@click.option("--connection-limit", type=click.IntRange(1, 100), default=DEFAULT_CONNECTION_LIMIT,
              show_default=True, help="sessions this login may have open at once")
@click.option("--locality", "localities", multiple=True, metavar="CODE",
              help="limit the login to this locality and everything below it (repeat for several; none: the nation)")
def create(database_url: str, name: str, password_stdin: bool, connection_limit: int,
           localities: tuple[str, ...]) -> None:
    """Create the login NAME, a member of reporting_reader (limited to --locality subtrees)."""
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else secrets.token_urlsafe(18)
    try:
        with build_login_store(database_url) as store:
            store.create(name, password, connection_limit, localities)
            where, reader_role = store.where, store.reader_role
    except LoginError as exc:
        raise click.ClickException(str(exc)) from exc
    sees = ", ".join(sorted(set(localities))) or "the nation"
    click.echo(f"login {name} created (member of {reader_role}, sees {sees}, at most {connection_limit} "
               f"sessions); connect with: psql \"postgresql://{name}:PASSWORD@{where}\"", err=True)
    if not password_stdin:
        click.echo("password (shown once, keep it now):", err=True)
        click.echo(password)


@logins.command("list")
@database_url_option
def list_command(database_url: str) -> None:
    """The analyst logins, their connection limit and open sessions."""
    with build_login_store(database_url) as store:
        found = store.logins()
    for login in found:
        until = f" valid until {login.valid_until:%Y-%m-%d}" if login.valid_until else ""
        sees = ",".join(login.localities) or "nation"
        click.echo(f"{login.name}  {sees}  limit {login.connection_limit}  sessions {login.sessions}{until}")
    if not found:
        click.echo("no analyst logins", err=True)


@logins.command("drop")
@database_url_option
@click.argument("name")
def drop(database_url: str, name: str) -> None:
    """Drop the analyst login NAME and end its open sessions."""
    try:
        with build_login_store(database_url) as store:
            ended = store.drop(name)
    except LoginError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"login {name} dropped; {ended} open session(s) ended")


commands: list[click.Command] = [logins]
