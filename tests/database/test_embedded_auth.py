"""The embedded PostgreSQL asks every TCP connection for a scram-sha-256 password; the service's
role has a generated one (data directory, 0600) in `EmbeddedPostgres.url`; a data directory
made by an earlier version (initdb --auth=trust) is upgraded at its next start. The README's
SQL example runs verbatim with psql against it."""
import os
import shutil
import stat
import subprocess
from pathlib import Path

import psycopg
import pytest

from service.adapters.embedded import EmbeddedPostgres
from service.adapters.postgres import migrate

pytestmark = pytest.mark.integration


def _refused(url: str) -> str:
    with pytest.raises(psycopg.OperationalError) as refused:
        psycopg.connect(url, connect_timeout=5).close()
    return str(refused.value)


def _initdb_as_before_issue_13(pg: EmbeddedPostgres) -> None:
    """What EmbeddedPostgres.start() ran on a new directory before: trust for everyone."""
    pg.data_dir.mkdir(parents=True)
    pg._as = pg._run_as()
    pg._pg("initdb", "-D", str(pg.data_dir), "--auth=trust", "--encoding=UTF8", "--locale=C", "-U", "postgres")


@pytest.fixture(scope="module")
def upgraded(tmp_path_factory):
    """One server for the module: initialised with trust, as earlier versions did, then started."""
    pg = EmbeddedPostgres(tmp_path_factory.mktemp("pg-auth") / "data")
    _initdb_as_before_issue_13(pg)
    assert "trust" in (pg.data_dir / "pg_hba.conf").read_text()
    assert not pg.password_file.exists()
    pg.start()
    try:
        yield pg
    finally:
        pg.stop(quiet=True, mode="immediate")


def test_a_trust_directory_is_upgraded_and_the_service_url_carries_the_password(upgraded):
    mode = stat.S_IMODE(os.stat(upgraded.password_file).st_mode)
    assert mode == 0o600
    password = upgraded.password_file.read_text().strip()
    assert len(password) >= 32 and password in upgraded.url
    with psycopg.connect(upgraded.url) as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == "postgres"
        (verifier,) = conn.execute("SELECT rolpassword FROM pg_authid WHERE rolname = 'postgres'").fetchone()
        assert verifier.startswith("SCRAM-SHA-256$")
    without = upgraded.url.replace(f":{password}@", "@")
    assert "password" in _refused(without)
    assert "password authentication failed" in _refused(upgraded.url.replace(password, "0" * len(password)))
    # A restart keeps the same password (the URL handed to children stays valid).
    upgraded.restart()
    assert upgraded.password_file.read_text().strip() == password
    psycopg.connect(upgraded.url).close()


def test_the_readme_sql_example_works_verbatim_and_needs_the_password(upgraded):
    psql = shutil.which("psql") or str(upgraded.bin / "psql")
    migrate(upgraded.url)  # reporting_reader, as `enrolment run` does
    env = {**os.environ, "DATABASE_URL": upgraded.url, "PGCONNECT_TIMEOUT": "5"}
    env.pop("PGPASSWORD", None)
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    create = """psql "$DATABASE_URL" -c "CREATE ROLE analyst LOGIN PASSWORD 'change-me' IN ROLE reporting_reader\""""
    assert create in readme
    subprocess.run(["sh", "-c", create], env=env, check=True, capture_output=True, timeout=30)
    try:
        analyst = f"postgresql://analyst:change-me@127.0.0.1:{upgraded.port}/postgres"
        assert 'psql "postgresql://analyst:change-me@HOST:PORT/DATABASE"' in readme
        ok = subprocess.run([psql, "-w", analyst, "-Atc", "SELECT count(*) > 0 FROM reporting.periods"],
                            env=env, capture_output=True, text=True, timeout=30)
        assert ok.returncode == 0 and ok.stdout.strip() == "t", ok.stderr
        for url in (analyst.replace(":change-me", ""), analyst.replace("change-me", "wrong")):
            refused = subprocess.run([psql, "-w", url, "-c", "SELECT 1"], env=env, capture_output=True,
                                     text=True, timeout=30)
            assert refused.returncode != 0 and "password" in refused.stderr, refused.stderr
    finally:
        with psycopg.connect(upgraded.url, autocommit=True) as conn:
            conn.execute("DROP ROLE analyst")
