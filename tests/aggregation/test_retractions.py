"""Retractions in the SQL apply against the real PostgreSQL: the figures are those of the set of
events minus the rightly retracted ones, whatever the order, batching and duplicates; identity
splits when a linking event is retracted; refused retractions come back for dead letters."""
import random
import secrets
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from eventgen import AGENTS, PARENTS, conference, enrolment, event_sets, personal_id, retraction, si_number, \
    with_retractions
from reference import assert_matches_reference
from test_apply import MIGRATION_0011, STORE_TABLES, deliver_mostly_in_order
from service.adapters.postgres.aggregates import apply_rows, read_aggregates
from service.adapters.postgres.staging_rows import rows_for
from service.adapters.postgres.reference import LocalityRow, load_localities
from service.adapters.postgres.retractions import CANNOT_RETRACT_A_RETRACTION, NOT_IN_PROVINCES, NOT_THE_SENDER
from service.domain.aggregation import aggregate
from service.domain.identity import Pseudonymiser

pytestmark = pytest.mark.integration


def places(code: str):
    while code is not None:
        yield code
        code = PARENTS.get(code)


def figures(events):
    return aggregate(events, places)


@pytest.fixture
def conn(database_url):
    with psycopg.connect(database_url) as c:
        load_localities(c, [LocalityRow("VN", "Việt Nam", "nation", None)]
                        + [LocalityRow(code, code, "province" if len(code) == 2 else "commune", parent)
                           for code, parent in sorted(PARENTS.items(), key=lambda kv: len(kv[0]))])
        c.commit()
        empty(c)
        yield c


def empty(conn):
    conn.commit()
    conn.execute(f"TRUNCATE {', '.join(STORE_TABLES)}")
    conn.commit()


def assert_state_equals_backfill(conn):
    """The participant state rows = those migration 0011 derives from the counted events."""
    sql = MIGRATION_0011.read_text()
    backfill = sql[sql.index("WITH timeline AS"):sql.index("DROP TABLE")].replace(
        "JOIN enrolment_events e ON e.ident = i.identifier",
        "JOIN enrolment_events e ON e.ident = i.identifier AND e.retracted IS NULL")
    kept = conn.execute("SELECT * FROM participant_scheme_state ORDER BY 1, 2").fetchall()
    conn.execute("DELETE FROM participant_scheme_state")
    conn.execute(backfill)
    assert conn.execute("SELECT * FROM participant_scheme_state ORDER BY 1, 2").fetchall() == kept
    conn.rollback()


def apply(conn, pseudonymiser, events):
    conn.commit()  # end the reads' transaction: each apply commits on its own
    return apply_rows(conn, *rows_for(events, pseudonymiser))


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), seed=st.integers(0, 2**32))
def test_shuffled_sets_with_retractions_give_the_figures_without_the_retracted(conn, data, seed):
    events = data.draw(with_retractions(data.draw(event_sets(max_events=25, attributes=True))))
    pseudonymiser = Pseudonymiser(secrets.token_hex(8))
    rng = random.Random(seed)
    empty(conn)  # hypothesis runs every example on the one fixture
    deliveries = events + rng.sample(events, k=len(events) // 4)  # re-sent copies, retractions too
    rng.shuffle(deliveries)
    i = 0
    while i < len(deliveries):
        size = rng.randint(1, 10)
        apply(conn, pseudonymiser, deliveries[i:i + size])
        i += size
    tables = read_aggregates(conn)
    assert tables == figures(events)
    assert_matches_reference(tables, events, PARENTS)
    assert_state_equals_backfill(conn)


@hsettings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), seed=st.integers(0, 2**32))
def test_after_every_batch_the_figures_are_those_of_the_events_so_far(conn, data, seed):
    events = data.draw(with_retractions(data.draw(event_sets(max_events=30))))
    pseudonymiser = Pseudonymiser(secrets.token_hex(8))
    rng = random.Random(seed)
    empty(conn)
    seen: dict = {}
    deliveries = deliver_mostly_in_order(events, rng)
    i = 0
    while i < len(deliveries):
        batch = deliveries[i:i + rng.choice([1, 1, 2, 5])]
        apply(conn, pseudonymiser, batch)
        seen.update((e.event_id, e) for e in batch)
        assert read_aggregates(conn) == figures(list(seen.values()))
        i += len(batch)
    assert_state_equals_backfill(conn)


T = datetime(2024, 3, 5, 3, tzinfo=UTC)


def test_retraction_before_its_event_after_it_twice_and_resent(conn):
    k = Pseudonymiser("k")
    wrong = enrolment("registered", T, pid=personal_id(1), money=(3, 900_000))
    right = enrolment("registered", T, pid=personal_id(2), money=(3, 900_000))  # the correction
    first = retraction(wrong, by=AGENTS[0])
    result = apply(conn, k, [first])  # before the event: waits
    assert (result.retractions, result.retracted) == (1, 0)
    result = apply(conn, k, [wrong, right])  # the event arrives: never counted
    assert (result.applied, result.retracted, result.retracted_on_arrival) == (1, 1, 1)
    assert read_aggregates(conn) == figures([right])
    again = retraction(wrong, by=AGENTS[0])  # twice = once; the same retraction re-sent = nothing
    result = apply(conn, k, [again, first, wrong])
    assert (result.retractions, result.retracted, result.duplicates) == (1, 0, 2)
    assert read_aggregates(conn) == figures([right])
    assert conn.execute("SELECT count(*) FILTER (WHERE verdict = 'applied'), count(*) FROM event_retractions"
                        ).fetchone() == (2, 2)


def test_retraction_after_its_event_takes_it_out_of_every_month(conn):
    k = Pseudonymiser("k")
    pid = personal_id(3)
    events = [enrolment("registered", T, pid=pid), enrolment("lapsed", T + timedelta(days=40), pid=pid),
              enrolment("registered", T + timedelta(days=90), pid=pid)]
    apply(conn, k, events)
    result = apply(conn, k, [retraction(events[1], by=AGENTS[0])])  # the lapse never happened
    assert (result.retracted, result.rederived) == (1, 1)
    assert read_aggregates(conn) == figures([events[0], events[2]])
    assert_state_equals_backfill(conn)


def test_every_event_of_a_participant_retracted_leaves_nothing(conn):
    k = Pseudonymiser("k")
    events = [enrolment("registered", T, pid=personal_id(4), sin=si_number(4)),
              enrolment("renewed", T + timedelta(days=31), sin=si_number(4))]
    apply(conn, k, events)
    apply(conn, k, [retraction(e, by=AGENTS[0]) for e in events])
    assert read_aggregates(conn) == figures([]) == {t: {} for t in figures([])}
    assert conn.execute("SELECT count(*) FROM participant_identifiers").fetchone() == (0,)
    assert conn.execute("SELECT count(*) FROM participant_scheme_state").fetchone() == (0,)
    # a later event of the same person starts afresh: a new participant
    later = enrolment("registered", T + timedelta(days=60), sin=si_number(4))
    apply(conn, k, [later])
    assert read_aggregates(conn) == figures([later])


def test_retracting_the_linking_event_splits_the_participant(conn):
    """Known by SI number (2019) and personal id (2020), linked by one event: one participant.
    The link was a mistake (wrong person): retracted, they are two again, in every month."""
    k = Pseudonymiser("k")
    pid, sin = personal_id(5), si_number(6)
    t = datetime(2019, 6, 1, tzinfo=UTC)
    before = [enrolment("registered", t, sin=sin), enrolment("renewed", t + timedelta(days=200), pid=pid)]
    link = enrolment("renewed", t + timedelta(days=100), pid=pid, sin=sin)
    apply(conn, k, before + [link])
    assert sum(v[0] for v in read_aggregates(conn)["agg_flows"].values()) == 1  # one new participant
    apply(conn, k, [retraction(link, by=AGENTS[0], reason="wrong_person")])
    tables = read_aggregates(conn)
    assert tables == figures(before)
    assert sum(v[0] for v in tables["agg_flows"].values()) == 2  # two again
    numbers = conn.execute("SELECT count(DISTINCT participant_id), count(*) FROM participant_identifiers").fetchone()
    assert numbers == (2, 2)
    assert_state_equals_backfill(conn)
    # a correction: the right link, posted again with a new id, merges them again
    relink = enrolment("renewed", t + timedelta(days=100), pid=pid, sin=sin)
    apply(conn, k, [relink])
    assert read_aggregates(conn) == figures(before + [relink])


def test_retracting_a_link_inside_the_batch_that_brings_it(conn):
    k = Pseudonymiser("k")
    pid, sin = personal_id(7), si_number(7)
    link = enrolment("registered", T, pid=pid, sin=sin)
    others = [enrolment("renewed", T + timedelta(days=30), sin=sin), enrolment("lapsed", T + timedelta(days=9), pid=pid)]
    apply(conn, k, [retraction(link, by=AGENTS[0]), link, *others])
    assert read_aggregates(conn) == figures(others)
    assert conn.execute("SELECT count(DISTINCT participant_id) FROM participant_identifiers").fetchone() == (2,)


def test_retracted_conferences_leave_outreach(conn):
    k = Pseudonymiser("k")
    held = [conference(T, attendees=120), conference(T + timedelta(days=1), attendees=80)]
    apply(conn, k, held)
    apply(conn, k, [retraction(held[0], by=AGENTS[0], reason="did_not_happen")])
    assert read_aggregates(conn)["agg_outreach"] == figures(held[1:])["agg_outreach"]
    late = conference(T + timedelta(days=2))
    apply(conn, k, [retraction(late, by=AGENTS[0]), late])  # in one batch: never counted
    assert read_aggregates(conn)["agg_outreach"] == figures(held[1:])["agg_outreach"]


def test_refused_retractions_come_back_with_their_reason_also_when_known_later(conn):
    k = Pseudonymiser("k")
    event = enrolment("registered", T, pid=personal_id(8), locality="87002", agent=AGENTS[0])
    by_other = retraction(event, by=AGENTS[1])
    waiting = retraction(event, provinces=frozenset({"79"}))  # supervisor of another province
    result = apply(conn, k, [waiting])
    assert result.refused_retractions == ()
    conn.execute("UPDATE event_retractions SET record_value = 'the record', source_partition = 3, "
                 "source_offset = 41 WHERE event_id = %s", (waiting.event_id,))
    conn.commit()
    result = apply(conn, k, [event, by_other])
    refused = {r.event_id: r for r in result.refused_retractions}
    assert refused[by_other.event_id].error == NOT_THE_SENDER
    later = refused[waiting.event_id]
    assert (later.error, later.record_value, later.source_partition, later.source_offset) == \
        (NOT_IN_PROVINCES, b"the record", 3, 41)
    of_retraction = retraction(by_other.event_id, by=AGENTS[1])
    assert [r.error for r in apply(conn, k, [of_retraction]).refused_retractions] == [CANNOT_RETRACT_A_RETRACTION]
    supervisor = retraction(event, provinces=frozenset({"87"}))  # the province's supervisor may
    result = apply(conn, k, [supervisor])
    assert (result.retracted, result.refused_retractions) == (1, ())
    assert read_aggregates(conn) == figures([])


def test_data_quality_view_counts_retractions_per_agent_month_and_reason(conn):
    k = Pseudonymiser("k")
    events = [enrolment("registered", T, pid=personal_id(10 + i), agent=AGENTS[i % 2], locality="87001")
              for i in range(4)]
    apply(conn, k, events)
    apply(conn, k, [retraction(events[0], by=AGENTS[0], reason="wrong_person"),
                    retraction(events[0], by=AGENTS[0], reason="wrong_person"),
                    retraction(events[1], provinces=frozenset({"87"}), reason="did_not_happen"),
                    retraction(events[2], by=AGENTS[1], reason="wrong_person")])  # refused: not its event
    rows = conn.execute(
        "SELECT locality_code, agent_id, reason, retractions, retracted_events, by_supervisor, refused "
        "FROM reporting.retractions WHERE period_type = 'month' AND period = '2024-03' "
        "AND locality_code IN ('87', '87001') ORDER BY 1, 2, 3").fetchall()
    assert rows == [
        ("87", "agent-1", "wrong_person", 2, 1, 0, 1),
        ("87", "agent-2", "did_not_happen", 1, 1, 1, 0),
        ("87001", "agent-1", "wrong_person", 2, 1, 0, 1),
        ("87001", "agent-2", "did_not_happen", 1, 1, 1, 0),
    ]
