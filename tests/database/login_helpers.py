"""Connecting as, and dropping, an analyst login: shared by the fixtures in conftest.py and the
test modules (which import it by this unique name; `from conftest import` clashes with the
other directories' conftest modules when they run in one pytest call)."""
from __future__ import annotations

import psycopg


def login_url(database_url: str, name: str, password: str | None) -> str:
    extra = {"password": password} if password is not None else {"password": ""}
    return psycopg.conninfo.make_conninfo(database_url, user=name, connect_timeout=5, **extra)


def drop_role(database_url: str, name: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (name,))
        conn.execute(psycopg.sql.SQL("DROP ROLE IF EXISTS {}").format(psycopg.sql.Identifier(name)))
