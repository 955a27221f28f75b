"""`enrolment tokens` and `enrolment migrate` against the real database."""
from datetime import date

import psycopg
import pytest
from click.testing import CliRunner

from ingestion_helpers import auth, enrolment
from service.adapters.postgres.contribution_rules import read_rules
from service.bootstrap import build_api
from service.entrypoints.cli import main

pytestmark = pytest.mark.integration


def run(*args: str):
    result = CliRunner().invoke(main, list(args))
    return result


def test_issue_list_revoke_tokens(settings, reference):
    url = ["--database-url", settings.database_url]
    issued = run("tokens", "issue-agent", *url, "bd-post-7", "--name", "Bưu điện Ba Đình",
                 "--channel", "post_office", "--province", "01")
    assert issued.exit_code == 0, issued.output
    token = issued.stdout.strip().splitlines()[-1]
    assert token.startswith("enr_") and len(token) > 40

    client = build_api(settings.with_(auth_cache_ttl_s=0)).test_client()
    assert client.post("/v1/events", json=enrolment(), headers=auth(token)).status_code == 202

    listing = run("tokens", "list", *url)
    assert listing.exit_code == 0 and "bd-post-7" in listing.output and token not in listing.output
    with psycopg.connect(settings.database_url) as conn:  # only the hash is stored
        assert conn.execute("SELECT count(*) FROM api_tokens WHERE token_hash::text LIKE %s",
                            (f"%{token}%",)).fetchone() == (0,)

    assert run("tokens", "revoke", *url, "--agent", "bd-post-7").exit_code == 0
    assert client.post("/v1/events", json=enrolment(), headers=auth(token)).status_code == 401
    assert run("tokens", "revoke", *url, "--agent", "bd-post-7").exit_code != 0  # nothing left to revoke

    reporting = run("tokens", "issue-reporting", *url, "--label", "analyst")
    assert reporting.exit_code == 0 and reporting.stdout.strip().startswith("enr_")


def test_agent_provinces_must_exist(settings, reference):
    result = run("tokens", "issue-agent", "--database-url", settings.database_url, "a1", "--name", "x",
                 "--channel", "employer", "--province", "00004")  # a commune, not a province
    assert result.exit_code != 0 and "00004" in result.output


def test_migrate_applies_and_loads_rules_idempotently(database_url):
    for _ in range(2):
        result = run("migrate", "--database-url", database_url)
        assert result.exit_code == 0, result.output
        assert "loaded 7 contribution rule(s)" in result.output
    with psycopg.connect(database_url) as conn:
        rules = read_rules(conn)
    by_day = {day: next(r for r in rules if r.in_force(day)) for day in
              (date(2021, 12, 31), date(2022, 1, 1), date(2023, 6, 30), date(2024, 6, 30), date(2024, 7, 1), date(2025, 7, 1))}
    assert by_day[date(2021, 12, 31)].poverty_line_vnd == 700_000
    assert by_day[date(2022, 1, 1)].poverty_line_vnd == 1_500_000
    assert by_day[date(2023, 6, 30)].reference_level_vnd == 1_490_000
    assert by_day[date(2024, 6, 30)].reference_level_vnd == 1_800_000
    assert by_day[date(2024, 7, 1)].max_income_vnd == 46_800_000
    assert str(by_day[date(2024, 7, 1)].support["poor"]) == "0.3000"
    assert str(by_day[date(2025, 7, 1)].support["poor"]) == "0.5000"
