"""Versioned migrations: `service/migrations/NNNN_name.sql`, applied once each, in order.

Each file runs in its own transaction together with its row in `schema_migrations`, under a
lock on that table (no grant to anyone else: unlike an advisory lock, no reporting login can
take it and hold up a start) so that concurrent starts (API, worker, migration job) apply it once.

After the files, `migrate` sets the reporting logins' timeouts (`READER_LIMITS`) on every run.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib import resources

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)

# Database-level defaults, so they reach every login, also one an admin creates by hand
# (role settings are not inherited through membership of reporting_reader). The service's own
# role overrides them for itself in this database (a role-in-database setting wins over a
# database one): replay, big applies and migrations may run long. A session may still SET
# them itself; what keeps a reader from stalling an apply is that it can take no lock an
# apply needs (locks.py), the timeouts bound the load and the snapshots a reader holds.
READER_LIMITS = {"statement_timeout": "60s", "idle_in_transaction_session_timeout": "5min"}
NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def available() -> list[Migration]:
    found = []
    for entry in resources.files("service.migrations").iterdir():
        m = NAME.match(entry.name)
        if m:
            found.append(Migration(int(m.group(1)), m.group(2), entry.read_text(encoding="utf-8")))
    found.sort(key=lambda mig: mig.version)
    versions = [mig.version for mig in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a version: {versions}")
    return found


def migrate(url: str) -> list[Migration]:
    """Apply pending migrations; return those applied now."""
    applied_now = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for mig in available():
            with conn.transaction():
                conn.execute("LOCK TABLE schema_migrations IN EXCLUSIVE MODE")
                done = conn.execute(
                    "SELECT 1 FROM schema_migrations WHERE version = %s", (mig.version,)
                ).fetchone()
                if done:
                    continue
                log.info("applying migration", extra={"version": mig.version, "migration": mig.name})
                conn.execute(mig.sql)
                conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                    (mig.version, mig.name),
                )
                applied_now.append(mig)
        set_reader_limits(conn)
    return applied_now


def set_reader_limits(conn: psycopg.Connection, limits: dict[str, str] = READER_LIMITS) -> None:
    """The READER_LIMITS as this database's defaults, switched off for the connecting role (the
    service's). Idempotent; run on every migrate: CREATE DATABASE … TEMPLATE and a pg_dump
    restore do not carry per-database settings."""
    database = sql.Identifier(conn.info.dbname)
    with conn.transaction():
        conn.execute("LOCK TABLE schema_migrations IN EXCLUSIVE MODE")  # concurrent starts: one at a time
        for name, value in limits.items():
            setting = sql.Identifier(name)
            conn.execute(sql.SQL("ALTER DATABASE {} SET {} = {}").format(database, setting, sql.Literal(value)))
            conn.execute(sql.SQL("ALTER ROLE CURRENT_USER IN DATABASE {} SET {} = 0").format(database, setting))
