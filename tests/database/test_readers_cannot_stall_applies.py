"""A reporting login tries every way it has to hold up the writers: the old advisory keys,
LOCK TABLE on the lock tables, the aggregate tables and the reporting views, row locks on the
views, a long query. Each is refused, harmless or cut, and applies and a rebuild's swap run
to completion meanwhile."""
import secrets
import threading
import time
from datetime import UTC, datetime

import psycopg
import pytest
from psycopg import errors

from eventgen import enrolment, personal_id
from service.adapters.postgres.aggregates import apply_rows, read_aggregates
from service.adapters.postgres.staging_rows import rows_for
from service.adapters.postgres.locks import APPLY_LOCK, SWAP_LOCK
from service.adapters.postgres.rebuild import (
    connect_to_rebuild, create_rebuild_schema, drop_rebuild_schema, lock_and_read_live_offsets, swap_in,
    tables_under_reporting_views,
)
from service.domain.aggregation import aggregate
from service.domain.identity import Pseudonymiser

pytestmark = pytest.mark.integration

OLD_ADVISORY_KEYS = (7_400_001, 7_400_003, 7_400_004)  # migration, apply, swap before issue 13
APPLY_DEADLINE_S = 10


def _events(first: int, count: int, month: int):
    return [enrolment("registered", datetime(2022, month, 10, tzinfo=UTC), pid=personal_id(first + i))
            for i in range(count)]


def _refused(conn: psycopg.Connection, statement: str) -> type[Exception]:
    """Run `statement` in its own transaction; the error class it was refused with."""
    try:
        with conn.transaction():
            conn.execute(statement)
    except (errors.InsufficientPrivilege, errors.FeatureNotSupported) as exc:
        return type(exc)
    raise AssertionError(f"a reporting login could run: {statement}")


def _apply_within_deadline(url: str, events, pseudonymiser: Pseudonymiser) -> float:
    """Apply `events` in another thread; its duration, failing past the deadline."""
    done: list[object] = []

    def run():
        try:
            with psycopg.connect(url) as conn:
                done.append(apply_rows(conn, *rows_for(events, pseudonymiser)))
        except BaseException as exc:  # reported below
            done.append(exc)

    started = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(APPLY_DEADLINE_S)
    assert not thread.is_alive(), f"an apply did not finish within {APPLY_DEADLINE_S}s beside a reporting login"
    (result,) = done
    assert not isinstance(result, BaseException), result
    assert result.applied == len(events)
    return time.monotonic() - started


def test_a_reporting_login_can_take_no_lock_an_apply_or_a_swap_needs(migrated_url, analyst):
    pseudonymiser = Pseudonymiser(secrets.token_hex(8))
    first, second = _events(0, 30, 1), _events(100, 30, 2)
    with psycopg.connect(migrated_url) as service:
        apply_rows(service, *rows_for(first, pseudonymiser))
        readable = sorted(tables_under_reporting_views(service))
    assert "agg_flows" in readable and "agg_active_changes" in readable

    with psycopg.connect(analyst.url) as reader:
        for statement in (
            f"LOCK TABLE {APPLY_LOCK} IN EXCLUSIVE MODE",
            f"LOCK TABLE {SWAP_LOCK} IN SHARE MODE",
            f"LOCK TABLE {SWAP_LOCK} IN ACCESS SHARE MODE",
            *(f"LOCK TABLE public.{t} IN ACCESS SHARE MODE" for t in readable),
            "LOCK TABLE public.enrolment_events IN ACCESS SHARE MODE",
            "LOCK TABLE public.schema_migrations IN ACCESS SHARE MODE",
            "LOCK TABLE reporting.stock IN ROW EXCLUSIVE MODE",
            "LOCK TABLE reporting.periods IN SHARE MODE",
            "SELECT * FROM reporting.periods FOR UPDATE",
            "SELECT * FROM reporting.periods FOR SHARE",
            "SELECT * FROM reporting.targets FOR KEY SHARE",
        ):
            _refused(reader, statement)
        # What it can do, all at once in one open transaction: the old advisory keys, ACCESS
        # SHARE on every table under the views (by locking the views) and a query running.
        reader.execute("SELECT " + ", ".join(f"pg_advisory_lock({k})" for k in OLD_ADVISORY_KEYS))
        reader.execute("LOCK TABLE reporting.stock, reporting.flows, reporting.outreach IN ACCESS SHARE MODE")
        reader.execute("SELECT count(*) FROM reporting.flows WHERE period_type = 'month' AND period = '2022-01'")

        _apply_within_deadline(migrated_url, second, pseudonymiser)

        # A rebuild's swap, holding the apply lock, empties the live tables: with DELETE where a
        # reader may hold ACCESS SHARE, so it does not wait for the reader (nor do applies behind it).
        schema = create_rebuild_schema(migrated_url)
        try:
            with connect_to_rebuild(migrated_url, schema) as rebuild:
                apply_rows(rebuild, *rows_for(first + second, pseudonymiser))
                lock_and_read_live_offsets(rebuild, "group")
                swapping = threading.Thread(target=swap_in, args=(rebuild, schema), daemon=True)
                swapping.start()
                swapping.join(APPLY_DEADLINE_S)
                assert not swapping.is_alive(), "the swap waited for a reporting login"
        finally:
            drop_rebuild_schema(migrated_url, schema)
        reader.rollback()
    with psycopg.connect(migrated_url) as service:
        assert read_aggregates(service) == aggregate(first + second)
