"""SQL logins limited to subtrees of the locality tree (migration 0051), enforced by PostgreSQL:
every view of schema `reporting` shows a scoped login only its rows, and no other route (base
tables, the private schema, functions, SET ROLE, leaky conditions, another database) reads more.
"""
from __future__ import annotations

import uuid
from datetime import date

import psycopg
import pytest
from click.testing import CliRunner
from psycopg import errors, sql

from login_helpers import drop_role, login_url
from service.adapters.postgres.logins import create_login
from service.adapters.postgres.reference import (DEMO_SEEDS, load_default_reference, load_denominators_csv,
                                                 load_targets_csv)
from service.entrypoints.cli import main

pytestmark = pytest.mark.integration

HUE, HUE_A, HUE_B, BAC_GIANG, BG_A = "46", "19786", "19768", "24", "07627"
M = date.fromisoformat
ACTIVE = [(HUE_A, "BHXH_BB", M("2024-01-01"), 120), (HUE_B, "BHXH_BB", M("2024-01-01"), 80),
          (BG_A, "BHXH_TN", M("2024-01-01"), 300), ("29905", "BHXH_BB", M("2024-03-01"), 900)]
FLOWS = [(HUE_A, "BHXH_BB", M("2024-02-01"), "social_insurance_office", "hue", 5, 7),
         (BG_A, "BHXH_TN", M("2024-02-01"), "post_office", "bg-post", 11, 1)]
OUTREACH = [(HUE_A, M("2024-02-01"), "", 2, 80, 5_000_000), (BG_A, M("2024-02-01"), "bg", 1, 50, 2_000_000)]
BY_PERSON = [(HUE_A, "BHXH_BB", M("2024-01-01"), "female", 1980, 120), (BG_A, "BHXH_TN", M("2024-01-01"), "male", 1990, 300)]
SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")
FILLED_VIEWS = ("stock", "flows", "coverage", "growth", "withdrawals", "outreach", "flows_by_agent", "flows_by_channel",
                "active_by_sex_age", "plan_attainment", "denominators", "targets", "localities")


def _load(url: str) -> None:
    load_default_reference(url)
    assert not load_denominators_csv(url, DEMO_SEEDS / "denominators.csv").rejected
    assert not load_targets_csv(url, DEMO_SEEDS / "targets.csv").rejected
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.executemany("INSERT INTO denominators (locality_code, year, measure, value) VALUES (%s, 2024, %s, %s)",
                        [(HUE, "labour_force", 600_000), (HUE_A, "labour_force", 9_000), (BAC_GIANG, "labour_force", 1_000_000)])
        cur.executemany("INSERT INTO targets (locality_code, year, subject, basis, target_count) VALUES (%s, 2024, %s, %s, %s)",
                        [(HUE, "BHXH_BB", "active", 500), (BAC_GIANG, "BHXH_TN", "active", 400)])
        cur.executemany("INSERT INTO agg_active_changes VALUES (%s, %s, %s, %s)", ACTIVE)
        cur.executemany("INSERT INTO agg_flows (locality_code, scheme, month, channel, agent_id, new_participants,"
                        " withdrawals) VALUES (%s, %s, %s, %s, %s, %s, %s)", FLOWS)
        cur.executemany("INSERT INTO agg_outreach VALUES (%s, %s, %s, %s, %s, %s)", OUTREACH)
        cur.executemany("INSERT INTO agg_active_changes_by_person VALUES (%s, %s, %s, %s, %s, %s)", BY_PERSON)


@pytest.fixture
def logins(migrated_url):
    """Data in three provinces; logins for Huế, one commune of Huế, and the nation."""
    _load(migrated_url)
    suffix = uuid.uuid4().hex[:8]
    made = {"hue": (f"hue_{suffix}", [HUE]), "commune": (f"commune_{suffix}", [HUE_A]),
            "nation": (f"nation_{suffix}", [])}
    with psycopg.connect(migrated_url) as conn:
        for name, localities in made.values():
            create_login(conn, name, "pw-" + name, localities=localities)
    yield {key: login_url(migrated_url, name, "pw-" + name) for key, (name, _) in made.items()} | {
        "names": {key: name for key, (name, _) in made.items()}}
    for name, _ in made.values():
        drop_role(migrated_url, name)


def _views(conn) -> dict[str, list[str]]:
    """Every view of schema reporting -> its columns."""
    rows = conn.execute("""SELECT c.relname, array_agg(a.attname ORDER BY a.attnum) FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        WHERE n.nspname = 'reporting' GROUP BY c.relname ORDER BY c.relname""").fetchall()
    return dict(rows)


def _place_column(view: str, columns: list[str]) -> str | None:
    return "locality_code" if "locality_code" in columns else "code" if view == "localities" else None


def _rows(conn, view: str, columns: list[str]) -> list[tuple]:
    """The view's rows for year 2024 (periodic views: the year period, so the query stays small)."""
    where = ("WHERE period_type = 'year' AND period = '2024'" if "period_type" in columns
             else "WHERE year = 2024" if "year" in columns else "")
    query = sql.SQL("SELECT * FROM reporting.{} " + where).format(sql.Identifier(view))
    return sorted(conn.execute(query).fetchall(), key=repr)


def _subtree(conn, roots: list[str]) -> set[str]:
    return {c for (c,) in conn.execute(
        "SELECT descendant_code FROM locality_closure WHERE ancestor_code = ANY(%s)", (roots,))}


def test_every_reporting_view_is_a_scoped_wrapper(migrated_url):
    with psycopg.connect(migrated_url) as conn:
        views = _views(conn)
        relations = conn.execute("""SELECT c.relname, c.relkind, c.reloptions, pg_get_viewdef(c.oid)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'reporting'""").fetchall()
        unscoped = {v for (v,) in conn.execute("SELECT view_name FROM reporting_internal.unscoped_views")}
    assert len(relations) == len(views) >= 14
    for name, kind, options, definition in relations:
        assert kind == "v" and "security_barrier=true" in (options or []), name
        assert f"reporting_internal.{name} v" in definition, (name, definition)
        if _place_column(name, views[name]):
            assert "session_localities" in definition, (name, definition)
        elif name not in unscoped:
            assert "session_sees_nation" in definition, (name, definition)
    assert unscoped == {"periods"}


def test_a_scoped_login_reads_only_its_subtree_from_every_view(migrated_url, logins):
    with psycopg.connect(migrated_url) as owner:
        views = _views(owner)
        everything = {view: _rows(owner, view, columns) for view, columns in views.items()}
        subtrees = {"hue": _subtree(owner, [HUE]), "commune": {HUE_A}}
    for who, allowed in subtrees.items():
        with psycopg.connect(logins[who]) as conn:
            for view, columns in views.items():
                seen = _rows(conn, view, columns)
                place = _place_column(view, columns)
                if place is None:  # the calendar
                    assert seen == everything[view], view
                    continue
                at = columns.index(place)
                assert seen == [r for r in everything[view] if r[at] in allowed], (who, view)
    with psycopg.connect(logins["hue"]) as conn:
        for view in FILLED_VIEWS:  # the data leave something to hide and something to show
            at = views[view].index(_place_column(view, views[view]))
            assert {r[at] for r in everything[view]} - subtrees["hue"], view
            assert _rows(conn, view, views[view]), view
        assert conn.execute("SELECT count(*) FROM reporting.stock WHERE locality_code = 'VN'").fetchone() == (0,)


def test_the_nation_wide_reader_sees_everything(migrated_url, logins):
    with psycopg.connect(migrated_url) as owner, psycopg.connect(logins["nation"]) as nation:
        for view, columns in _views(owner).items():
            assert _rows(nation, view, columns) == _rows(owner, view, columns), view
        nation.execute("SET ROLE reporting_reader")
        assert nation.execute("SELECT count(*) FROM reporting.localities").fetchone() == (3_356,)


def test_no_other_route_reads_more(migrated_url, logins, pg_server):
    name = logins["names"]["hue"]
    with psycopg.connect(migrated_url) as owner:
        hue = _subtree(owner, [HUE])
        # Every table, view, sequence of every other schema (base tables, the private schema): no SELECT.
        readable = owner.execute(f"""SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f', 'S') AND n.nspname NOT IN {SYSTEM_SCHEMAS} AND n.nspname <> 'reporting'
              AND has_table_privilege(%s, c.oid, 'SELECT')""", (name,)).fetchall()
        assert readable == []
        assert not owner.execute("SELECT has_schema_privilege(%s, 'reporting_internal', 'USAGE')", (name,)).fetchone()[0]
        # No function that runs with another role's rights is callable.
        definers = owner.execute(f"""SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE p.prosecdef AND n.nspname NOT IN {SYSTEM_SCHEMAS}
              AND has_function_privilege(%s, p.oid, 'EXECUTE')""", (name,)).fetchall()
        assert definers == []
    with psycopg.connect(logins["hue"], autocommit=True) as conn:
        for table in ("agg_flows", "localities", "denominators", "reporting_internal.stock",
                      "reporting_internal.login_localities", "api_tokens"):
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(f"SELECT 1 FROM {table} LIMIT 1")
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("SELECT reporting_internal.scope_reporting_views()")
        # Escaping by SET ROLE: the session's login still limits it (the marker role reads nothing).
        conn.execute("SET ROLE reporting_reader")
        codes = {c for (c,) in conn.execute(
            "SELECT DISTINCT locality_code FROM reporting.stock WHERE period_type = 'year' AND period = '2024'")}
        assert codes and codes <= hue
        conn.execute("SET ROLE reporting_scoped")
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("SELECT 1 FROM reporting.stock LIMIT 1")
        conn.execute("RESET ROLE")
        # A condition that would fail, or report, on a hidden row runs only on visible rows.
        assert conn.execute("""SELECT count(*) FROM reporting.stock WHERE period_type = 'year' AND period = '2024'
            AND 1 / (CASE WHEN locality_code = ANY(%s) THEN 1 ELSE 0 END) = 1""", (sorted(hue),)).fetchone()[0] > 0
        conn.execute("""CREATE FUNCTION pg_temp.leak(code text, active bigint) RETURNS boolean LANGUAGE plpgsql
                        COST 0.0000001 AS $$ BEGIN RAISE NOTICE 'leak % %', code, active; RETURN true; END $$""")
        leaked: list[str] = []
        conn.add_notice_handler(lambda notice: leaked.append(notice.message_primary.split()[1]))
        conn.execute("SELECT * FROM reporting.stock WHERE period_type = 'year' AND period = '2024'"
                     " AND pg_temp.leak(locality_code, active)").fetchall()
        assert leaked and set(leaked) <= hue


def test_in_another_database_a_scoped_login_sees_nothing(migrated_url, logins, pg_server, template_database):
    """Roles belong to the cluster: where a scoped login has no scope rows it sees nothing, not the nation."""
    other = f"other_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_server.url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(other), sql.Identifier(template_database)))
    try:
        other_url = pg_server.url_for(other)
        with psycopg.connect(other_url) as owner:
            owner.execute("INSERT INTO localities VALUES ('VN', 'Việt Nam', 'nation', NULL), (%s, 'Huế', 'province', 'VN')", (HUE,))
            owner.execute("INSERT INTO locality_closure VALUES ('VN', 'VN', 0), (%s, %s, 0), ('VN', %s, 1)", (HUE, HUE, HUE))
            owner.execute("INSERT INTO agg_active_changes VALUES (%s, 'BHXH_BB', '2024-01-01', 5)", (HUE,))
        name = logins["names"]["hue"]
        with psycopg.connect(login_url(other_url, name, "pw-" + name)) as conn:
            assert conn.execute("SELECT count(*) FROM reporting.stock WHERE period_type = 'year' AND period = '2024'").fetchone() == (0,)
            assert conn.execute("SELECT count(*) FROM reporting.localities").fetchone() == (0,)
            assert conn.execute("SELECT count(*) FROM reporting.periods").fetchone()[0] > 0
    finally:
        with psycopg.connect(pg_server.url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(other)))


def test_the_logins_command_takes_localities(migrated_url):
    load_default_reference(migrated_url)
    name = f"cli_{uuid.uuid4().hex[:10]}"
    runner = CliRunner()
    url = ["--database-url", migrated_url]
    try:
        unknown = runner.invoke(main, ["logins", "create", name, "--locality", "nowhere", *url])
        assert unknown.exit_code == 1 and "nowhere" in unknown.output
        created = runner.invoke(main, ["logins", "create", name, "--locality", HUE, "--locality", BG_A,
                                       "--password-stdin", *url], input="s3cret pass\n")
        assert created.exit_code == 0, created.output
        listed = runner.invoke(main, ["logins", "list", *url]).output
        assert f"{name}  {BG_A},{HUE}  limit" in listed
        with psycopg.connect(login_url(migrated_url, name, "s3cret pass")) as conn:
            codes = {c for (c,) in conn.execute("SELECT code FROM reporting.localities")}
            with psycopg.connect(migrated_url) as owner:
                assert codes == _subtree(owner, [HUE, BG_A])
        assert runner.invoke(main, ["logins", "drop", name, *url]).exit_code == 0
        with psycopg.connect(migrated_url) as owner:
            assert owner.execute("SELECT count(*) FROM reporting_internal.login_localities WHERE role_name = %s",
                                 (name,)).fetchone() == (0,)
    finally:
        drop_role(migrated_url, name)
