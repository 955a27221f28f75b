"""`enrolment reference …`: dry run, summary, rejected rows and the exit code."""
from __future__ import annotations

import psycopg
import pytest
from click.testing import CliRunner

from service.domain import access
from service.adapters.postgres import tokens as token_store
from service.entrypoints.cli import main

pytestmark = pytest.mark.integration


def test_reference_commands(database_url, tmp_path):
    runner = CliRunner()
    env = {"DATABASE_URL": database_url}
    dry = runner.invoke(main, ["reference", "localities", "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert "3,356" in dry.output and "dry run" in dry.output
    assert runner.invoke(main, ["reference", "defaults"], env=env).exit_code == 0

    path = tmp_path / "d.csv"
    path.write_text("locality_code,year,measure,value\n82,2024,labour_force,1000000\n82,2024,labour_force,x\n",
                    encoding="utf-8")
    with psycopg.connect(database_url) as conn:
        _, reporting = token_store.issue(conn, access.REPORTING, None, "analyst")
        _, writer = token_store.issue(conn, access.REFERENCE, None, "statistics office")
    for refused, message in (([], "Missing option '--token'"), (["--token", reporting], "scope 'reference', not 'reporting'"),
                             (["--token", "enr_" + "x" * 43], "unknown or revoked token"), (["--token", "x"], "unknown")):
        result = runner.invoke(main, ["reference", "denominators", str(path), *refused], env=env)
        assert result.exit_code != 0 and message in result.output, (refused, result.output)
    result = runner.invoke(main, ["reference", "denominators", str(path)], env={**env, "ENROLMENT_REFERENCE_TOKEN": writer})
    assert result.exit_code == 1
    assert "line 2" in result.output and "value must be a whole number" in result.output
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT value FROM denominators WHERE locality_code = '82'").fetchall() == [(1_000_000,)]
        assert conn.execute("SELECT count(*) FROM targets WHERE locality_code = 'VN'").fetchone() == (6,)


def test_a_reference_token_limited_to_a_province_writes_only_there(database_url, tmp_path):
    runner = CliRunner()
    env = {"DATABASE_URL": database_url}
    assert runner.invoke(main, ["reference", "localities"], env=env).exit_code == 0
    with psycopg.connect(database_url) as conn:
        _, writer = token_store.issue(conn, access.REFERENCE, None, "Huế office", localities=["46"])
    path = tmp_path / "t.csv"
    path.write_text("locality_code,year,subject,basis,target_count,target_rate_pct,denominator_measure\n"
                    "46,2025,BHXH_TN,active,500,,\n82,2025,BHXH_TN,active,700,,\n", encoding="utf-8")
    result = runner.invoke(main, ["reference", "targets", str(path), "--token", writer], env=env)
    assert result.exit_code == 1 and "outside this token's localities (46)" in result.output, result.output
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT locality_code FROM targets WHERE year = 2025 AND subject = 'BHXH_TN'"
                            " AND basis = 'active'").fetchall() == [("46",)]
    # The Resolution 28 default names the nation: outside a province token.
    assert runner.invoke(main, ["reference", "targets", "--token", writer], env=env).exit_code == 1


def test_token_commands_take_localities(database_url):
    runner = CliRunner()
    env = {"DATABASE_URL": database_url}
    assert runner.invoke(main, ["reference", "localities"], env=env).exit_code == 0
    unknown = runner.invoke(main, ["tokens", "issue-reporting", "--label", "x", "--locality", "46", "--locality", "zz"],
                            env=env)
    assert unknown.exit_code == 1 and "not localities in the reference data: zz" in unknown.output
    province = runner.invoke(main, ["tokens", "issue-reporting", "--label", "Huế", "--locality", "46",
                                    "--min-cell-size", "5"], env=env)
    assert province.exit_code == 0, province.output
    assert runner.invoke(main, ["tokens", "issue-reporting", "--label", "nation"], env=env).exit_code == 0
    assert runner.invoke(main, ["tokens", "issue-reference", "--label", "stats", "--locality", "46",
                                "--locality", "29905"], env=env).exit_code == 0
    assert runner.invoke(main, ["tokens", "issue-reporting", "--label", "x", "--min-cell-size", "1"], env=env).exit_code == 2
    listed = [line.split("\t") for line in runner.invoke(main, ["tokens", "list"], env=env).output.splitlines()]
    assert [row[1:6] for row in listed] == [["reporting", "-", "46", "min-cell-size 5", "Huế"],
                                           ["reporting", "-", "nation", "-", "nation"],
                                           ["reference", "-", "29905,46", "-", "stats"]]
    token = province.stdout.strip().splitlines()[-1]
    with psycopg.connect(database_url) as conn:
        found = token_store.lookup(conn, access.hash_token(token))
    assert found.localities == {"46"} and found.min_cell_size == 5 and found.scope == access.REPORTING
