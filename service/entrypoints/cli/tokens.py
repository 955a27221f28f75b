"""`enrolment tokens`: issue, revoke and list API tokens (`service_layer/tokens.py`, on the
token store `bootstrap.build_token_store` opens). A token is printed once, at issue; the
database keeps only its SHA-256."""
from __future__ import annotations

import click

from ...bootstrap import build_token_store
from ...domain.model import Channel
from ...domain import access
from ...service_layer import tokens as use_cases
from .migrate import database_url_option


@click.group("tokens")
def tokens() -> None:
    """Bearer tokens of agents (post events), analysts (read reports) and reference data writers."""


@tokens.command("issue-agent")
@database_url_option
@click.argument("agent_id")
@click.option("--name", required=True, help="the agent's display name")
@click.option("--channel", required=True, type=click.Choice([c.value for c in Channel]))
@click.option("--province", "provinces", multiple=True, required=True,
              help="province code the agent may post for (repeat for several)")
@click.option("--label", default="", help="a note to recognise the token by (e.g. the device)")
def issue_agent(database_url: str, agent_id: str, name: str, channel: str, provinces: tuple[str, ...], label: str) -> None:
    """Create or update AGENT_ID and issue a token for it."""
    try:
        with build_token_store(database_url) as store:
            token_id, token = use_cases.issue_agent_token(store, agent_id, name, Channel(channel), provinces, label)
    except use_cases.UnknownCodes as unknown:
        raise click.ClickException(str(unknown)) from unknown
    click.echo(f"token {token_id} for agent {agent_id} (shown once, keep it now):", err=True)
    click.echo(token)


locality_option = click.option(
    "--locality", "localities", multiple=True, metavar="CODE",
    help="limit the token to this locality and everything below it (repeat for several; none: the nation)")


def _issue_limited(database_url: str, scope: str, label: str, localities: tuple[str, ...], **kw) -> None:
    try:
        with build_token_store(database_url) as store:
            token_id, token = use_cases.issue_locality_token(store, scope, label, localities, **kw)
    except use_cases.UnknownCodes as unknown:
        raise click.ClickException(str(unknown)) from unknown
    where = ", ".join(sorted(set(localities))) or "the nation"
    click.echo(f"{scope} token {token_id} for {where} (shown once, keep it now):", err=True)
    click.echo(token)


@tokens.command("issue-reporting")
@database_url_option
@click.option("--label", required=True, help="who the token is for")
@locality_option
@click.option("--min-cell-size", type=click.IntRange(2, 1000), default=None,
              help="withhold breakdown cells below this many people (publication-safe; default: off)")
def issue_reporting(database_url: str, label: str, localities: tuple[str, ...], min_cell_size: int | None) -> None:
    """Issue a token for the report API and the dashboard (reads only)."""
    _issue_limited(database_url, access.REPORTING, label, localities, min_cell_size=min_cell_size)


@tokens.command("issue-reference")
@database_url_option
@click.option("--label", required=True, help="who the token is for")
@locality_option
def issue_reference(database_url: str, label: str, localities: tuple[str, ...]) -> None:
    """Issue a token that writes reference data (denominators, targets) in its localities."""
    _issue_limited(database_url, access.REFERENCE, label, localities)


@tokens.command("issue-supervisor")
@database_url_option
@click.option("--label", required=True, help="who the token is for")
@click.option("--province", "provinces", multiple=True, required=True,
              help="province whose events the token may retract (repeat for several)")
def issue_supervisor(database_url: str, label: str, provinces: tuple[str, ...]) -> None:
    """Issue a token that may retract any event recorded in its provinces (corrections)."""
    try:
        with build_token_store(database_url) as store:
            token_id, token = use_cases.issue_supervisor_token(store, label, provinces)
    except use_cases.UnknownCodes as unknown:
        raise click.ClickException(str(unknown)) from unknown
    click.echo(f"supervisor token {token_id} for provinces {', '.join(sorted(set(provinces)))} "
               f"(shown once, keep it now):", err=True)
    click.echo(token)


@tokens.command("revoke")
@database_url_option
@click.option("--id", "token_id", type=int, help="token id (see `tokens list`)")
@click.option("--token", help="the token itself")
@click.option("--agent", "agent_id", help="every token of this agent")
def revoke(database_url: str, token_id: int | None, token: str | None, agent_id: str | None) -> None:
    """Revoke tokens. API workers stop accepting them within AUTH_CACHE_TTL_S seconds."""
    if sum(x is not None for x in (token_id, token, agent_id)) != 1:
        raise click.UsageError("name exactly one of --id, --token, --agent")
    with build_token_store(database_url) as store:
        count = store.revoke(token_id=token_id, token=token, agent_id=agent_id)
    if count == 0:
        raise click.ClickException("no active token matched")
    click.echo(f"revoked {count} token(s)")


@tokens.command("list")
@database_url_option
def list_tokens(database_url: str) -> None:
    """Every token: id, scope, agent, localities (or "nation"), minimum cell size, label,
    created, revoked (never the token itself)."""
    with build_token_store(database_url) as store:
        rows = store.list_tokens()
    for r in rows:
        revoked = r.revoked_at.isoformat(timespec="seconds") if r.revoked_at else "active"
        where = ",".join(r.localities) or ("-" if r.scope == access.AGENT else "nation")
        cells = f"min-cell-size {r.min_cell_size}" if r.min_cell_size else "-"
        click.echo(f"{r.token_id}\t{r.scope}\t{r.agent_id or '-'}\t{where}\t{cells}\t{r.label}\t"
                   f"{r.created_at.isoformat(timespec='seconds')}\t{revoked}")


commands: list[click.Command] = [tokens]
