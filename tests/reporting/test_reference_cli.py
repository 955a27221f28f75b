"""`enrolment reference …`: dry run, summary, rejected rows and the exit code."""
from __future__ import annotations

import psycopg
import pytest
from click.testing import CliRunner

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
    result = runner.invoke(main, ["reference", "denominators", str(path)], env=env)
    assert result.exit_code == 1
    assert "line 2" in result.output and "value must be a whole number" in result.output
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT value FROM denominators WHERE locality_code = '82'").fetchall() == [(1_000_000,)]
        assert conn.execute("SELECT count(*) FROM targets WHERE locality_code = 'VN'").fetchone() == (6,)
