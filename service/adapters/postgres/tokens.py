"""Agents and API tokens in PostgreSQL. A token is shown once at issue; only its SHA-256 is kept.
Scopes, the token format and `Principal` are defined in domain/access.py.
The SQL is in sql/tokens/ (sql_files.py)."""
from __future__ import annotations

import secrets
from collections.abc import Iterable

import psycopg
from psycopg import sql

from ...domain.access import SCOPES, TOKEN_BYTES, TOKEN_PREFIX, Principal, TokenRow, hash_token
from ...domain.model import Agent, Channel
from .rows import one_row
from .sql_files import composed, text


def lookup(conn: psycopg.Connection, token_hash: bytes) -> Principal | None:
    row = conn.execute(text("tokens", "lookup"), (token_hash,)).fetchone()
    if row is None:
        return None
    token_id, scope, agent_id, channel, provinces, localities, min_cell_size = row
    agent = Agent(agent_id=agent_id, channel=Channel(channel)) if agent_id else None
    return Principal(token_id=token_id, scope=scope, agent=agent, provinces=frozenset(provinces),
                     localities=frozenset(localities), min_cell_size=min_cell_size)


def upsert_agent(
    conn: psycopg.Connection, agent_id: str, name: str, channel: Channel, provinces: list[str]
) -> None:
    """Create or update an agent; its province list is replaced by `provinces`."""
    conn.execute(text("tokens", "upsert_agent"), (agent_id, name, channel.value))
    conn.execute(text("tokens", "delete_agent_provinces"), (agent_id,))
    conn.execute(text("tokens", "insert_agent_provinces"), (agent_id, sorted(set(provinces))))


def unknown_provinces(conn: psycopg.Connection, codes: list[str]) -> list[str]:
    """Codes that are not provinces in `localities` (all of them when none is loaded)."""
    rows = conn.execute(text("tokens", "unknown_provinces"), (codes,)).fetchall()
    return [c for (c,) in rows]


def issue(conn: psycopg.Connection, scope: str, agent_id: str | None, label: str = "",
          localities: Iterable[str] = (), min_cell_size: int | None = None) -> tuple[int, str]:
    """A new token: returns (token_id, token). The token itself is never stored.

    `localities` limits it to those subtrees (none: the whole nation); `min_cell_size` makes
    its breakdowns withhold smaller cells (reporting)."""
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    (token_id,) = one_row(conn.execute(
        text("tokens", "insert_token"), (hash_token(token), scope, agent_id, label, min_cell_size)))
    conn.execute(text("tokens", "insert_token_localities"), (token_id, sorted(set(localities))))
    return token_id, token


def revoke(conn: psycopg.Connection, *, token_id: int | None = None, token: str | None = None,
           agent_id: str | None = None) -> int:
    """Revoke by id, by the token itself, or every token of an agent. Returns how many."""
    arg: bytes | int | str
    if token is not None:
        column, arg = "token_hash", hash_token(token)
    elif token_id is not None:
        column, arg = "token_id", token_id
    elif agent_id is not None:
        column, arg = "agent_id", agent_id
    else:
        raise ValueError("name a token id, a token or an agent")
    cur = conn.execute(composed("tokens", "revoke", column=sql.Identifier(column)), (arg,))
    return cur.rowcount


def list_tokens(conn: psycopg.Connection) -> list[TokenRow]:
    rows = conn.execute(text("tokens", "list_tokens")).fetchall()
    return [TokenRow(token_id, scope, agent_id, label, created_at, revoked_at, tuple(roots), min_cell_size)
            for token_id, scope, agent_id, label, created_at, revoked_at, roots, min_cell_size in rows]


def unknown_localities(conn: psycopg.Connection, codes: list[str]) -> list[str]:
    """Codes that are not in the locality tree."""
    rows = conn.execute(text("tokens", "unknown_localities"), (codes,)).fetchall()
    return [c for (c,) in rows]


class TokenStore:
    """The functions above on one connection, for the commands that issue, revoke and list
    tokens: what one command does is one transaction (the caller's `with` on the connection)."""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def unknown_provinces(self, codes: list[str]) -> list[str]:
        return unknown_provinces(self.conn, codes)

    def unknown_localities(self, codes: list[str]) -> list[str]:
        return unknown_localities(self.conn, codes)

    def upsert_agent(self, agent_id: str, name: str, channel: Channel, provinces: list[str]) -> None:
        upsert_agent(self.conn, agent_id, name, channel, provinces)

    def issue(self, scope: str, agent_id: str | None, label: str = "", localities: Iterable[str] = (),
              min_cell_size: int | None = None) -> tuple[int, str]:
        return issue(self.conn, scope, agent_id, label, localities, min_cell_size)

    def revoke(self, *, token_id: int | None = None, token: str | None = None, agent_id: str | None = None) -> int:
        return revoke(self.conn, token_id=token_id, token=token, agent_id=agent_id)

    def list_tokens(self) -> list[TokenRow]:
        return list_tokens(self.conn)
