"""The SQL apply path against the real PostgreSQL: any order, duplicates, batching -> the same
tables as the pure domain and the simple reference."""
import random
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from eventgen import enrolment, event_sets, personal_id, si_number
from reference import assert_matches_reference
from service.adapters.postgres.aggregates import apply_rows, read_aggregates
from service.adapters.postgres.staging_rows import rows_for
from service.domain.aggregation import aggregate
from service.domain.identity import Pseudonymiser

pytestmark = pytest.mark.integration

STORE_TABLES = (
    "participant_identifiers", "enrolment_events", "conference_events", "event_retractions", "participant_scheme_state",
    "consumer_offsets", "agg_active_changes", "agg_active_changes_by_person",
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
        apply_rows(conn, *rows_for(deliveries[i:i + size], pseudonymiser))
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


def deliver_mostly_in_order(events, rng):
    """Deliveries as agents mostly make them: in time order, a few events late (moved to a
    later position), a few re-sent."""
    deliveries = sorted(events, key=lambda e: e.occurred_at)
    for e in rng.sample(events, k=len(events) // 6):
        deliveries.remove(e)
        deliveries.insert(rng.randint(deliveries.index(e) if e in deliveries else 0, len(deliveries)), e)
    for e in rng.sample(events, k=len(events) // 10):
        deliveries.insert(rng.randint(0, len(deliveries)), e)
    return deliveries


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=event_sets(max_events=40, attributes=True), seed=st.integers(0, 2**32))
def test_appending_and_rederiving_across_batches_equals_domain(database_url, events, seed):
    """Mostly on-time deliveries in many small batches: most participants' new events are
    appended to their state rows, late events, identity links and changed sex / birth year
    re-derive them; after every batch the tables equal the figures of the events so far."""
    pseudonymiser = Pseudonymiser(secrets.token_hex(8))
    rng = random.Random(seed)
    deliveries = deliver_mostly_in_order(events, rng)
    seen: dict = {}
    with psycopg.connect(database_url) as conn:
        reset(conn)
        i = 0
        while i < len(deliveries):
            size = rng.choice([1, 1, 2, 3, 5, 8])
            batch = deliveries[i:i + size]
            apply_rows(conn, *rows_for(batch, pseudonymiser))
            seen.update((e.event_id, e) for e in batch)
            assert read_aggregates(conn) == aggregate(list(seen.values()))
            i += size
        assert_matches_reference(read_aggregates(conn), events)
        assert_state_equals_backfill(conn)


MIGRATION_0011 = Path(__file__).resolve().parents[2] / "service/migrations/0011_participant_state.sql"


def assert_state_equals_backfill(conn):
    """The state rows kept batch by batch = the ones migration 0011 derives from all events."""
    sql = MIGRATION_0011.read_text()
    backfill = sql[sql.index("WITH timeline AS"):sql.index("DROP TABLE")]
    kept = conn.execute("SELECT * FROM participant_scheme_state ORDER BY 1, 2").fetchall()
    conn.execute("DELETE FROM participant_scheme_state")
    conn.execute(backfill)
    assert conn.execute("SELECT * FROM participant_scheme_state ORDER BY 1, 2").fetchall() == kept
    conn.rollback()


def test_on_time_events_are_appended_without_rederivation(database_url):
    """In-order batches of one participant take the append path (nothing re-derived), also
    within the month of its last stored event; a late event and a changed birth year do not."""
    pseudonymiser = Pseudonymiser("k")
    pid = personal_id(7)
    t = datetime(2020, 3, 2, tzinfo=UTC)
    steps = [
        [enrolment("registered", t, pid=pid, money=(3, 900_000))],
        [enrolment("renewed", t + timedelta(days=3), pid=pid, locality="87002")],  # same month, moved
        [enrolment("lapsed", t + timedelta(days=40), pid=pid),
         enrolment("registered", t + timedelta(days=41), pid=pid, scheme="BHXH_TN")],
        [enrolment("registered", t + timedelta(days=70), pid=pid, campaign="thang-cao-diem")],
    ]
    late = [enrolment("withdrawn", t + timedelta(days=20), pid=pid)]
    attribute = [enrolment("renewed", t + timedelta(days=90), pid=pid, birth_year=1979)]
    applied = []
    with psycopg.connect(database_url) as conn:
        for batch in steps:
            applied += batch
            assert apply_rows(conn, *rows_for(batch, pseudonymiser)).rederived == 0
            assert read_aggregates(conn) == aggregate(applied)
        for batch in (late, attribute):
            applied += batch
            assert apply_rows(conn, *rows_for(batch, pseudonymiser)).rederived == 1
            assert read_aggregates(conn) == aggregate(applied)
        assert_matches_reference(read_aggregates(conn), applied)


def test_late_linking_event_merges_participants_retroactively(database_url):
    """A person known by SI number (2019) and by personal id (2020) is counted twice until an
    event naming both arrives; then once, in every month, retroactively."""
    pseudonymiser = Pseudonymiser("k")
    pid, sin = personal_id(5), si_number(5)
    t = datetime(2019, 6, 1, tzinfo=UTC)
    before = [enrolment("registered", t, sin=sin), enrolment("renewed", t + timedelta(days=200), pid=pid)]
    link = enrolment("renewed", t + timedelta(days=100), pid=pid, sin=sin)
    with psycopg.connect(database_url) as conn:
        apply_rows(conn, *rows_for(before, pseudonymiser))
        flows = read_aggregates(conn)["agg_flows"]
        assert sum(v[0] for v in flows.values()) == 2  # two "new participants"
        apply_rows(conn, *rows_for([link], pseudonymiser))
        tables = read_aggregates(conn)
        assert tables == aggregate(before + [link])
        assert sum(v[0] for v in tables["agg_flows"].values()) == 1
        assert sum(v[2] for v in tables["agg_flows"].values()) == 2  # both renewals while active
        assert sum(d for (d,) in tables["agg_active_changes"].values()) == 1
