"""The SQL apply path against the real PostgreSQL: any order, duplicates, batching -> the same
tables as the pure domain and the simple reference."""
import random
import secrets
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from eventgen import enrolment, event_sets, personal_id, si_number
from reference import assert_matches_reference
from service.adapters.postgres.aggregates import apply_batch, read_aggregates, rows_for
from service.domain.aggregation import aggregate
from service.domain.identity import Pseudonymiser

pytestmark = pytest.mark.integration

STORE_TABLES = (
    "participant_identifiers", "enrolment_events", "conference_events", "participant_stock_facts",
    "participant_flow_facts", "consumer_offsets", "agg_active_changes", "agg_active_changes_by_person",
    "agg_flows", "agg_campaign_enrolments", "agg_outreach",
)


def reset(conn):
    conn.execute(f"TRUNCATE {', '.join(STORE_TABLES)}")
    conn.commit()


def apply_in_batches(conn, pseudonymiser, events, rng):
    deliveries = events + rng.sample(events, k=len(events) // 4)  # re-sent events
    rng.shuffle(deliveries)
    i = 0
    while i < len(deliveries):
        size = rng.randint(1, 12)
        apply_batch(conn, *rows_for(deliveries[i:i + size], pseudonymiser))
        i += size


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=event_sets(), seed=st.integers(0, 2**32))
def test_sql_apply_equals_domain_and_reference(database_url, events, seed):
    pseudonymiser = Pseudonymiser(secrets.token_hex(8))
    rng = random.Random(seed)
    with psycopg.connect(database_url) as conn:
        reset(conn)
        apply_in_batches(conn, pseudonymiser, events, rng)
        tables = read_aggregates(conn)
        assert tables == aggregate(events)
        assert_matches_reference(tables, events)
        raw = {e.participant.personal_id for e in events if hasattr(e, "participant")} - {None}
        stored = conn.execute("SELECT string_agg(encode(ident, 'escape'), ',') FROM enrolment_events").fetchone()[0] or ""
        assert not any(r in stored for r in raw), "raw personal ids must never be stored"


def test_late_linking_event_merges_participants_retroactively(database_url):
    """A person known by SI number (2019) and by personal id (2020) is counted twice until an
    event naming both arrives; then once, in every month, retroactively."""
    pseudonymiser = Pseudonymiser("k")
    pid, sin = personal_id(5), si_number(5)
    t = datetime(2019, 6, 1, tzinfo=UTC)
    before = [enrolment("registered", t, sin=sin), enrolment("renewed", t + timedelta(days=200), pid=pid)]
    link = enrolment("renewed", t + timedelta(days=100), pid=pid, sin=sin)
    with psycopg.connect(database_url) as conn:
        apply_batch(conn, *rows_for(before, pseudonymiser))
        flows = read_aggregates(conn)["agg_flows"]
        assert sum(v[0] for v in flows.values()) == 2  # two "new participants"
        apply_batch(conn, *rows_for([link], pseudonymiser))
        tables = read_aggregates(conn)
        assert tables == aggregate(before + [link])
        assert sum(v[0] for v in tables["agg_flows"].values()) == 1
        assert sum(v[2] for v in tables["agg_flows"].values()) == 2  # both renewals while active
        assert sum(d for (d,) in tables["agg_active_changes"].values()) == 1
