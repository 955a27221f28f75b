"""The apply's SQL (adapters/postgres/apply_sql.py): every statement renders, once; the flow
columns and the temp tables come from their one definition."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from service.adapters.postgres import apply_sql, retractions
from service.domain.aggregation import FLOWS, TABLE_VALUES
from service.domain.model import EnrolmentKind

SQL_DIR = Path(apply_sql.__file__).parent / "sql"
# Files rendered with pieces of their own, not by `statement`: the signed fragments (inside the
# statements that use them), the dedupe and conflict check per store, the judging, the reading
# of an agg_* table (tests and checks, not the apply), the COPY and the clearing per table.
OWN_PIECES = {("aggregates", "stock_changes"), ("aggregates", "flow_changes"), ("aggregates", "store_new"),
              ("aggregates", "conflicts"), ("retractions", "judge"), ("aggregates", "read_table"),
              ("aggregates", "copy_in"), ("aggregates", "copy_in_binary"), ("aggregates", "clear_temp")}
PLAIN = sorted((p.parent.name, p.stem) for module in ("aggregates", "retractions")
               for p in (SQL_DIR / module).glob("*.sql") if (p.parent.name, p.stem) not in OWN_PIECES)


@pytest.mark.parametrize("module,name", PLAIN, ids=lambda x: x)
def test_every_statement_renders_once_with_no_placeholder_left(module, name):
    text = apply_sql.statement(module, name)
    assert text and not re.search(r"\{\w*\}", text)
    assert apply_sql.statement(module, name) is text


def test_the_statements_with_pieces_of_their_own_render():
    stored = apply_sql.store_new("conference_events", "staging_conferences", "inserted_conferences")
    assert 'INSERT INTO "conference_events" SELECT * FROM "staging_conferences"' in stored
    assert 'INSERT INTO "inserted_conferences" SELECT * FROM inserted' in stored
    conflicts = apply_sql.conflicts("staging_retractions", "event_retractions")
    assert 'FROM "staging_retractions" s JOIN "event_retractions" e' in conflicts
    copy = apply_sql.copy_in("staging_events", ("event_id", "agent_id"), False)
    assert copy == 'COPY "staging_events" ("event_id", "agent_id") FROM STDIN'
    assert apply_sql.copy_in("staging_events", ("event_id",), True).endswith(
        'COPY "staging_events" ("event_id") FROM STDIN (FORMAT BINARY)')
    judge = retractions._judge()
    assert f"'{retractions.NOT_THE_SENDER}'" in judge and not re.search(r"\{\w*\}", judge)


def test_every_flow_has_one_rule_and_the_statements_name_every_flow():
    assert set(apply_sql.FLOW_RULES) == set(FLOWS) == set(TABLE_VALUES["agg_flows"])
    upsert = apply_sql.statement("aggregates", "upsert_flows")
    for flow in FLOWS:
        assert f'agg_flows."{flow}" + EXCLUDED."{flow}"' in upsert
    for name in ("append_flows", "rederive_flows"):  # one sum per flow, in FLOWS' order
        sums = re.findall(r"coalesce\(sum\(", apply_sql.statement("aggregates", name))
        assert len(sums) == len(FLOWS)


def test_the_session_creates_exactly_the_temp_tables_an_apply_clears():
    session = apply_sql.statement("aggregates", "session")
    created = re.findall(r"CREATE TEMP TABLE IF NOT EXISTS (\w+)", session)
    assert sorted(created) == sorted(apply_sql.TEMP_TABLES)
    flow_diff = session[session.index("flow_diff ("):]
    columns = re.findall(r'"(\w+)" (?:integer|bigint)', flow_diff)
    assert tuple(columns) == FLOWS
    assert apply_sql.clear_temp().split("; ") == [f'DELETE FROM "{t}"' for t in apply_sql.TEMP_TABLES]


def test_activating_kinds_are_those_of_the_domain():
    assert apply_sql.ACTIVATING == "(" + ", ".join(
        f"'{k.value}'" for k in EnrolmentKind if k.activates) + ")" == "('registered', 'renewed')"
