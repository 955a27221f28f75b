"""Reporting logins run with a statement and an idle-in-transaction timeout: a login made by
`enrolment logins create` and one an admin makes by hand with plain SQL alike; the service's
own connections are not cut."""
import time
import uuid

import psycopg
import pytest
from click.testing import CliRunner
from psycopg import errors, sql

from login_helpers import drop_role, login_url
from service.adapters.postgres import make_pool
from service.adapters.postgres.migrations import READER_LIMITS, set_reader_limits
from service.entrypoints.cli import main

pytestmark = pytest.mark.integration

SHORT_LIMITS = {"statement_timeout": "1s", "idle_in_transaction_session_timeout": "2s"}


@pytest.fixture
def hand_made_login(migrated_url):
    """CREATE ROLE … IN ROLE reporting_reader, as docs/reporting.md shows it, nothing else."""
    name, password = f"byhand_{uuid.uuid4().hex[:10]}", uuid.uuid4().hex
    with psycopg.connect(migrated_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE reporting_reader").format(
            sql.Identifier(name), sql.Literal(password)))
    yield login_url(migrated_url, name, password)
    drop_role(migrated_url, name)


def _setting(url: str, name: str) -> str:
    with psycopg.connect(url) as conn:
        return conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(name))).fetchone()[0]


def _cut_after(url: str, seconds: float) -> float:
    with psycopg.connect(url) as conn:
        started = time.monotonic()
        with pytest.raises(errors.QueryCanceled):
            conn.execute("SELECT pg_sleep(%s)", (seconds,))
        return time.monotonic() - started


def _wait_until_gone(observer: psycopg.Connection, pid: int, timeout_s: float = 15) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not observer.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone():
            return
        time.sleep(0.1)
    raise AssertionError(f"backend {pid} still there after {timeout_s}s idle in transaction")


def test_every_reporting_login_is_cut_and_the_service_is_not(migrated_url, analyst, hand_made_login):
    for url in (analyst.url, hand_made_login):  # the defaults that `migrate` sets
        assert READER_LIMITS == {"statement_timeout": "60s", "idle_in_transaction_session_timeout": "5min"}
        assert _setting(url, "statement_timeout") == "1min"  # as the server shows 60s
        assert _setting(url, "idle_in_transaction_session_timeout") == "5min"
    assert _setting(migrated_url, "statement_timeout") == "0"
    assert _setting(migrated_url, "idle_in_transaction_session_timeout") == "0"

    with psycopg.connect(migrated_url, autocommit=True) as conn:
        set_reader_limits(conn, SHORT_LIMITS)  # the same mechanism with values a test can wait for
    for url in (analyst.url, hand_made_login):
        assert _cut_after(url, 30) < 10
    with psycopg.connect(migrated_url) as service:
        service.execute("SELECT pg_sleep(1.5)")  # longer than the readers' limit: not cut
    pool = make_pool(migrated_url, min_size=1, max_size=1, name="timeouts-test")
    try:
        with pool.connection() as conn:
            assert conn.execute("SHOW statement_timeout").fetchone()[0] == "0"
    finally:
        pool.close()

    with psycopg.connect(migrated_url, autocommit=True) as observer:
        for url in (analyst.url, hand_made_login):
            idle = psycopg.connect(url)
            idle.execute("SELECT count(*) FROM reporting.periods")  # opens a transaction, then idles
            _wait_until_gone(observer, idle.info.backend_pid)
            idle.close()


def test_the_logins_command_creates_lists_and_drops_a_reader(migrated_url):
    name = f"cli_{uuid.uuid4().hex[:10]}"
    runner = CliRunner()
    url = ["--database-url", migrated_url]
    try:
        created = runner.invoke(main, ["logins", "create", name, "--password-stdin", *url], input="s3cret pass\n")
        assert created.exit_code == 0, created.output
        with psycopg.connect(login_url(migrated_url, name, "s3cret pass")) as conn:
            assert conn.execute("SELECT pg_has_role(current_user, 'reporting_reader', 'USAGE')").fetchone()[0]
            conn.execute("SELECT count(*) FROM reporting.periods")
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute("SELECT count(*) FROM public.enrolment_events")
        generated = runner.invoke(main, ["logins", "create", name + "_g", *url])
        assert generated.exit_code == 0, generated.output
        password = generated.stdout.strip().splitlines()[-1]
        with psycopg.connect(login_url(migrated_url, name + "_g", password)):
            pass
        listed = runner.invoke(main, ["logins", "list", *url])
        assert name in listed.output and f"{name}_g" in listed.output
        for refused in (["logins", "create", name, *url], ["logins", "create", "Robert'); --", *url],
                        ["logins", "drop", "postgres", *url]):
            result = runner.invoke(main, refused, input="x\n")
            assert result.exit_code == 1 and "Error:" in result.output, (refused, result.output)
        dropped = runner.invoke(main, ["logins", "drop", name, *url])
        assert dropped.exit_code == 0, dropped.output
        assert name not in runner.invoke(main, ["logins", "list", *url]).output.split()
    finally:
        drop_role(migrated_url, name)
        drop_role(migrated_url, name + "_g")
