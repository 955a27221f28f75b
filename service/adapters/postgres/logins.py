"""SQL logins for analysts: members of `reporting_reader` (migration 0021), which reads the
`reporting` views and nothing else. A login limited to localities is also a member of
`reporting_scoped` and has its subtree roots in `reporting_internal.login_localities`
(migration 0051): the views then show it only their rows. The password travels as a SCRAM-SHA-256 verifier computed
client-side (libpq's PQencryptPasswordConn), so it never reaches the server or its log in the
clear. The statement and idle-in-transaction timeouts come from the database's defaults
(`migrations.READER_LIMITS`), which also reach a login created by hand. `set_password` sets
the embedded server's service role's password the same way. The SQL is in sql/logins/
(sql_files.py).
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg import sql

from ...domain.access import DEFAULT_CONNECTION_LIMIT, LoginError
from .rows import one_row
from .sql_files import composed, text
from .tokens import unknown_localities

READER_ROLE = "reporting_reader"
SCOPED_ROLE = "reporting_scoped"
# Lower-case, unquoted in a psql URL; the pg_ prefix is reserved by PostgreSQL.
LOGIN_NAME = re.compile(r"(?!pg_)[a-z_][a-z0-9_]{0,62}")
@dataclass(frozen=True)
class Login:
    name: str
    connection_limit: int
    valid_until: datetime | None
    sessions: int
    localities: tuple[str, ...] = ()  # subtree roots it reads; empty = the nation


def check_name(name: str) -> str:
    if not LOGIN_NAME.fullmatch(name):
        raise LoginError(f"login name {name!r}: 1-63 of a-z, 0-9, _; not starting with a digit or pg_")
    return name


def create_login(conn: psycopg.Connection, name: str, password: str,
                 connection_limit: int = DEFAULT_CONNECTION_LIMIT, localities: Iterable[str] = ()) -> None:
    """CREATE ROLE name LOGIN … IN ROLE reporting_reader, in the caller's transaction; with
    `localities`, also in reporting_scoped with those subtree roots (in the same transaction:
    the login never exists unlimited)."""
    check_name(name)
    localities = sorted(set(localities))
    if not password:
        raise LoginError("the password is empty")
    if conn.execute(text("logins", "role_exists"), (name,)).fetchone():
        raise LoginError(f"role {name!r} exists already")
    unknown = unknown_localities(conn, localities)
    if unknown:
        raise LoginError(f"not localities in the reference data: {', '.join(unknown)}")
    verifier = conn.pgconn.encrypt_password(password.encode(), name.encode(), b"scram-sha-256").decode()
    conn.execute(composed("logins", "create_login", name=sql.Identifier(name),
                          connection_limit=sql.Literal(int(connection_limit)), verifier=sql.Literal(verifier),
                          reader_role=sql.Identifier(READER_ROLE)))
    if localities:
        conn.execute(composed("logins", "grant_scoped", scoped_role=sql.Identifier(SCOPED_ROLE),
                              name=sql.Identifier(name)))
        conn.execute(text("logins", "insert_login_localities"), (name, localities))


def set_password(conn: psycopg.Connection, role: str, password: str) -> None:
    """(Re)set `role`'s password, sent as its SCRAM-SHA-256 verifier (the embedded server's
    service role; an analyst's is set by `create_login`)."""
    verifier = conn.pgconn.encrypt_password(password.encode(), role.encode(), b"scram-sha-256").decode()
    conn.execute(composed("logins", "set_password", name=sql.Identifier(role), verifier=sql.Literal(verifier)))


def list_logins(conn: psycopg.Connection) -> list[Login]:
    rows = conn.execute(text("logins", "list_logins"), (READER_ROLE,)).fetchall()
    return [Login(name, limit, valid_until, sessions, tuple(roots)) for name, limit, valid_until, sessions, roots in rows]


def drop_login(conn: psycopg.Connection, name: str) -> int:
    """Drop an analyst login and end its sessions; returns how many were ended. Refuses any
    role that is not a login member of reporting_reader (the service's own role, an admin)."""
    check_name(name)
    if name not in {login.name for login in list_logins(conn)}:
        raise LoginError(f"{name!r} is not an analyst login (a LOGIN member of {READER_ROLE})")
    (ended,) = one_row(conn.execute(text("logins", "end_sessions"), (name,)))
    conn.execute(composed("logins", "drop_role", name=sql.Identifier(name)))
    conn.execute(text("logins", "delete_login_localities"), (name,))
    return ended


class LoginStore:
    """The functions above on one connection, for `enrolment logins` (one command, one
    transaction: the caller's `with` on the connection)."""

    reader_role = READER_ROLE

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    @property
    def where(self) -> str:
        """host:port/database of the connection: where the analysts connect."""
        return f"{self.conn.info.host}:{self.conn.info.port}/{self.conn.info.dbname}"

    def create(self, name: str, password: str, connection_limit: int, localities: Iterable[str]) -> None:
        create_login(self.conn, name, password, connection_limit, localities)

    def logins(self) -> list[Login]:
        return list_logins(self.conn)

    def drop(self, name: str) -> int:
        return drop_login(self.conn, name)
