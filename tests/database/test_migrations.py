"""The migration runner on the real PostgreSQL: checksums, strict order, refusals, backfill."""
from __future__ import annotations

import hashlib
import threading
from importlib import resources
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from service.adapters.postgres import migrate
from service.service_layer.stack import MigrationError
from service.adapters.postgres.migrations import available
from service.entrypoints.cli import main

pytestmark = pytest.mark.integration


def write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory


def recorded(url: str) -> list[tuple[int, str, str | None]]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT version, name, checksum FROM schema_migrations ORDER BY version").fetchall()


def tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {t for (t,) in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


BASE = {"0001_a.sql": "CREATE TABLE a (x int);", "0002_b.sql": "CREATE TABLE b (x int);"}


def test_applies_in_order_once_and_records_each_files_checksum(empty_database_url, tmp_path):
    # The number decides the order, not the directory listing (c refers to b's table).
    d = write(tmp_path / "m", {"0010_c.sql": "CREATE TABLE c (x int REFERENCES b_pk);",
                               "0002_b.sql": "CREATE TABLE b_pk (x int PRIMARY KEY);", "0001_a.sql": "SELECT 1;"})
    assert [m.version for m in migrate(empty_database_url, d)] == [1, 2, 10]
    assert recorded(empty_database_url) == [(1, "a", sha256(d / "0001_a.sql")), (2, "b", sha256(d / "0002_b.sql")),
                                   (10, "c", sha256(d / "0010_c.sql"))]
    assert migrate(empty_database_url, d) == []


def test_a_new_migration_above_the_highest_applies(empty_database_url, tmp_path):
    d = write(tmp_path / "m", BASE)
    migrate(empty_database_url, d)
    write(d, {"0003_c.sql": "CREATE TABLE c (x int);"})
    assert [m.file for m in migrate(empty_database_url, d)] == ["0003_c.sql"]
    assert {"a", "b", "c"} <= tables(empty_database_url)


def test_an_edited_applied_migration_is_refused_naming_the_file(empty_database_url, tmp_path):
    d = write(tmp_path / "m", BASE)
    migrate(empty_database_url, d)
    write(d, {"0002_b.sql": "CREATE TABLE b (x int, y int);", "0003_c.sql": "CREATE TABLE c (x int);"})
    with pytest.raises(MigrationError, match=r"0002_b\.sql was edited after it was applied"):
        migrate(empty_database_url, d)
    assert "c" not in tables(empty_database_url)  # nothing after the refusal either
    # A whitespace-only edit is an edit too: the checksum is of the file's bytes.
    write(d, {"0002_b.sql": BASE["0002_b.sql"] + "\n"})
    with pytest.raises(MigrationError, match=r"0002_b\.sql was edited"):
        migrate(empty_database_url, d)


def test_a_renamed_applied_migration_is_refused(empty_database_url, tmp_path):
    d = write(tmp_path / "m", BASE)
    migrate(empty_database_url, d)
    (d / "0002_b.sql").rename(d / "0002_bee.sql")
    with pytest.raises(MigrationError, match=r"0002_bee\.sql: migration 0002 was applied as 0002_b\.sql"):
        migrate(empty_database_url, d)


def test_a_late_numbered_migration_is_refused_not_skipped(empty_database_url, tmp_path):
    d = write(tmp_path / "m", {"0001_a.sql": "CREATE TABLE a (x int);", "0005_e.sql": "CREATE TABLE e (x int);"})
    migrate(empty_database_url, d)
    write(d, {"0003_c.sql": "CREATE TABLE c (x int);", "0006_f.sql": "CREATE TABLE f (x int);"})
    with pytest.raises(MigrationError, match=r"^0003_c\.sql: numbered below 0005, the highest applied"):
        migrate(empty_database_url, d)
    assert not {"c", "f"} & tables(empty_database_url)
    assert [v for v, _, _ in recorded(empty_database_url)] == [1, 5]


def test_a_duplicate_number_is_refused_naming_both_files(empty_database_url, tmp_path):
    d = write(tmp_path / "m", {**BASE, "0002_other.sql": "CREATE TABLE other (x int);"})
    with pytest.raises(MigrationError, match=r"0002_b\.sql and 0002_other\.sql share the number 0002"):
        migrate(empty_database_url, d)
    with psycopg.connect(empty_database_url) as conn:  # refused before the database is touched
        assert conn.execute("SELECT to_regclass('schema_migrations')").fetchone() == (None,)


@pytest.mark.parametrize("name", ["0004-d.sql", "4_d.sql", "0004_D.sql", "00004_d.sql", "0004_.sql"])
def test_a_misnamed_sql_file_is_refused_not_ignored(empty_database_url, tmp_path, name):
    d = write(tmp_path / "m", {**BASE, name: "CREATE TABLE d (x int);", "README.txt": "not a migration"})
    with pytest.raises(MigrationError, match=rf"^{name}: a migration file must be named NNNN_name\.sql"):
        migrate(empty_database_url, d)


def test_an_applied_migration_without_its_file_is_refused(empty_database_url, tmp_path):
    d = write(tmp_path / "m", {**BASE, "0003_c.sql": "CREATE TABLE c (x int);"})
    migrate(empty_database_url, d)
    (d / "0003_c.sql").unlink()
    with pytest.raises(MigrationError, match=r"0003_c\.sql is applied to the database but is not among"):
        migrate(empty_database_url, d)


def test_a_failing_migration_leaves_no_trace_and_its_predecessors_stay(empty_database_url, tmp_path):
    d = write(tmp_path / "m", {**BASE, "0003_bad.sql": "CREATE TABLE c (x int); SELECT 1/0;"})
    with pytest.raises(psycopg.errors.DivisionByZero):
        migrate(empty_database_url, d)
    assert [v for v, _, _ in recorded(empty_database_url)] == [1, 2]
    assert "c" not in tables(empty_database_url)
    write(d, {"0003_bad.sql": "CREATE TABLE c (x int);"})  # not applied, so it may still change
    assert [m.version for m in migrate(empty_database_url, d)] == [3]


def test_a_database_from_before_checksums_gets_them_on_its_first_run(empty_database_url, tmp_path):
    d = write(tmp_path / "m", BASE)
    with psycopg.connect(empty_database_url) as conn:  # the runner's table and rows as the previous version left them
        conn.execute("CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
                     " applied_at timestamptz NOT NULL DEFAULT now())")
        conn.execute("CREATE TABLE a (x int); CREATE TABLE b (x int);")
        conn.execute("INSERT INTO schema_migrations (version, name) VALUES (1, 'a'), (2, 'b')")
    write(d, {"0003_c.sql": "CREATE TABLE c (x int);"})
    assert [m.version for m in migrate(empty_database_url, d)] == [3]
    assert recorded(empty_database_url) == [(v, n, sha256(d / f"{v:04d}_{n}.sql")) for v, n in [(1, "a"), (2, "b"), (3, "c")]]
    write(d, {"0001_a.sql": "CREATE TABLE a (x bigint);"})  # from now on an edit is caught
    with pytest.raises(MigrationError, match=r"0001_a\.sql was edited"):
        migrate(empty_database_url, d)


def test_the_services_migrations_on_a_fresh_database(database_url):
    """The template the other tests clone was migrated by this runner: every file recorded
    with its checksum, and a second run finds nothing to do and nothing to refuse."""
    directory = resources.files("service.migrations")
    expected = [(m.version, m.name, hashlib.sha256(directory.joinpath(m.file).read_bytes()).hexdigest())
                for m in available()]
    assert recorded(database_url) == expected and len(expected) >= 10
    assert migrate(database_url) == []


def test_concurrent_starts_apply_each_migration_once(empty_database_url, tmp_path):
    d = write(tmp_path / "m", {f"{i:04d}_t{i}.sql": f"CREATE TABLE t{i} (x int);" for i in range(1, 13)})
    results: list[object] = []

    def start() -> None:
        try:
            results.append(len(migrate(empty_database_url, d)))
        except Exception as exc:  # reported by the assertion below
            results.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert all(isinstance(r, int) for r in results) and sum(results) == 12, results  # type: ignore[arg-type]
    assert [v for v, _, _ in recorded(empty_database_url)] == list(range(1, 13))


def test_the_cli_names_the_file_without_a_traceback(empty_database_url, tmp_path, monkeypatch):
    d = write(tmp_path / "m", BASE)
    migrate(empty_database_url, d)  # migration 0001 applied from another file than the service's 0001
    result = CliRunner().invoke(main, ["migrate", "--database-url", empty_database_url])
    assert result.exit_code == 1, result.output
    assert "Error: 0001_reference.sql: migration 0001 was applied as 0001_a.sql" in result.output
    assert "Traceback" not in result.output
