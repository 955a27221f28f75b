"""Versioned migrations: `service/migrations/NNNN_name.sql`, applied once each, in order.

Each file runs in its own transaction together with its row in `schema_migrations` (version,
name, sha256 of the file), under a lock on that table (no grant to anyone else: unlike an
advisory lock, no reporting login can take it and hold up a start) so that concurrent starts
(API, worker, migration job) apply it once.

Before applying anything, and again before each file, the runner refuses (`MigrationError`,
naming the file) what would otherwise go wrong silently:
- an applied migration whose file now has another checksum or name (edited after it ran);
- an applied migration with no file (the database was migrated by a newer version);
- a pending migration numbered below the highest applied one (it would run out of order);
- two files with one number, or a `.sql` file whose name is not `NNNN_name.sql`.
A database migrated before checksums were recorded gets them, from the files as they are, on
its first run (the `checksum` column is added by the runner, which owns the table).

After the files, `migrate` sets the reporting logins' timeouts (`READER_LIMITS`) on every run.
The runner's own statements are `sql/migrations/*.sql` (package data, like the migrations).
"""
from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

import psycopg
from psycopg import sql

from ...service_layer.stack import MigrationError
from .sql_files import composed, text

log = logging.getLogger(__name__)

# Database-level defaults, so they reach every login, also one an admin creates by hand
# (role settings are not inherited through membership of reporting_reader). The service's own
# role overrides them for itself in this database (a role-in-database setting wins over a
# database one): replay, big applies and migrations may run long. A session may still SET
# them itself; what keeps a reader from stalling an apply is that it can take no lock an
# apply needs (locks.py), the timeouts bound the load and the snapshots a reader holds.
READER_LIMITS = {"statement_timeout": "60s", "idle_in_transaction_session_timeout": "5min"}
NAME = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str
    checksum: str  # sha256 of the file's bytes, hex

    @property
    def file(self) -> str:
        return f"{self.version:04d}_{self.name}.sql"


@dataclass(frozen=True)
class Applied:
    version: int
    name: str
    checksum: str | None  # None: recorded before the runner kept checksums


def available(directory: Traversable | None = None) -> list[Migration]:
    """The migration files, in order; refuses misnamed files and shared numbers."""
    directory = directory or resources.files("service.migrations")
    found = []
    for entry in directory.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        m = NAME.fullmatch(entry.name)
        if not m:
            raise MigrationError(f"{entry.name}: a migration file must be named NNNN_name.sql (lower case)")
        data = entry.read_bytes()
        found.append(Migration(int(m.group(1)), m.group(2), data.decode("utf-8"), hashlib.sha256(data).hexdigest()))
    found.sort(key=lambda mig: (mig.version, mig.name))
    for before, after in zip(found, found[1:]):
        if before.version == after.version:
            raise MigrationError(f"{before.file} and {after.file} share the number {after.version:04d}")
    return found


def check(files: list[Migration], applied: list[Applied]) -> list[Migration]:
    """The pending migrations, in order, if the files agree with what the database has applied;
    else MigrationError. Rows without a checksum are not compared (see `record_checksums`)."""
    by_version = {mig.version: mig for mig in files}
    for row in applied:
        mig = by_version.get(row.version)
        if mig is None:
            raise MigrationError(
                f"{row.version:04d}_{row.name}.sql is applied to the database but is not among this "
                "version's migrations (was the database migrated by a newer version?)")
        if mig.name != row.name:
            raise MigrationError(f"{mig.file}: migration {row.version:04d} was applied as "
                                 f"{row.version:04d}_{row.name}.sql; an applied migration must not be renamed")
        if row.checksum is not None and row.checksum != mig.checksum:
            raise MigrationError(f"{mig.file} was edited after it was applied (sha256 {row.checksum} when "
                                 f"applied, {mig.checksum} now); add a new migration instead")
    done = {row.version for row in applied}
    pending = [mig for mig in files if mig.version not in done]
    highest = max(done, default=0)
    late = [mig.file for mig in pending if mig.version < highest]
    if late:
        raise MigrationError(f"{', '.join(late)}: numbered below {highest:04d}, the highest applied migration; "
                             "a new migration takes a number above it")
    return pending


def _ensure_table(conn: psycopg.Connection) -> None:
    try:
        conn.execute(text("migrations", "create_table"))
    except (psycopg.errors.UniqueViolation, psycopg.errors.DuplicateObject):
        # Two first starts at once: IF NOT EXISTS does not serialise them, the loser trips over
        # the winner's row in the catalogue (a unique violation, or "type … already exists" when
        # it meets the row type first). The table is there; anything else is raised.
        if conn.execute(text("migrations", "table_exists")).fetchone() == (None,):
            raise
    has_checksum = conn.execute(text("migrations", "has_checksum")).fetchone()
    if not has_checksum:
        # A table from before checksums were kept. ALTER waits for the table's lock, then sees
        # the column a concurrent start may have just added.
        conn.execute(text("migrations", "add_checksum"))


def _applied(conn: psycopg.Connection) -> list[Applied]:
    rows = conn.execute(text("migrations", "applied")).fetchall()
    return [Applied(*row) for row in rows]


def record_checksums(conn: psycopg.Connection, files: list[Migration], applied: list[Applied]) -> None:
    """Rows applied before checksums were kept get the checksum of their file as it is now
    (the runner cannot know an earlier edit; from here on, any edit is refused)."""
    by_version = {mig.version: mig for mig in files}
    for row in applied:
        if row.checksum is None:
            checksum = by_version[row.version].checksum  # check() refused rows without a file
            conn.execute(text("migrations", "record_checksum"), (checksum, row.version))
            log.info("recorded checksum of an earlier migration", extra={"version": row.version, "migration": row.name})


def migrate(url: str, directory: Traversable | None = None) -> list[Migration]:
    """Apply pending migrations; return those applied now. MigrationError, before anything is
    applied, when the files and the database's record disagree (see the module's docstring)."""
    files = available(directory)
    applied_now = []
    with psycopg.connect(url, autocommit=True) as conn:
        _ensure_table(conn)
        while True:
            with conn.transaction():
                conn.execute(text("migrations", "lock"))
                # Checked again for every file: a concurrent start may have applied some meanwhile.
                applied = _applied(conn)
                pending = check(files, applied)
                record_checksums(conn, files, applied)
                if not pending:
                    break
                mig = pending[0]
                log.info("applying migration", extra={"version": mig.version, "migration": mig.name})
                conn.execute(mig.sql)
                conn.execute(text("migrations", "record_applied"), (mig.version, mig.name, mig.checksum))
                applied_now.append(mig)
        set_reader_limits(conn)
    return applied_now


def set_reader_limits(conn: psycopg.Connection, limits: dict[str, str] = READER_LIMITS) -> None:
    """The READER_LIMITS as this database's defaults, switched off for the connecting role (the
    service's). Idempotent; run on every migrate: CREATE DATABASE … TEMPLATE and a pg_dump
    restore do not carry per-database settings."""
    database = sql.Identifier(conn.info.dbname)
    with conn.transaction():
        conn.execute(text("migrations", "lock"))  # concurrent starts: one at a time
        for name, value in limits.items():
            setting = sql.Identifier(name)
            conn.execute(composed("migrations", "set_database_default", database=database, setting=setting,
                                  value=sql.Literal(value)))
            conn.execute(composed("migrations", "exempt_service_role", database=database, setting=setting))
