"""Property: whatever a topic record holds, the worker's decode and apply never raise; each
record is applied or refused with its error (the worker dead-letters what is refused).
Records come from the published JSON Schema (`published_schema.instances`: valid and
invalid), arbitrary bytes and nasty JSON; they are applied against the real PostgreSQL."""
import json

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from published_schema import instances, published
from service.contract.jsonschema import RECORD_FILE

from service.adapters.postgres.isolating import apply_isolating
from service.contract.digest import digest_key
from service.domain.identity import Pseudonymiser
from service.domain.model import CONFERENCE, ENROLMENT, RETRACTION
from service.adapters.postgres.record_rows import describe, record_row
from service.contract.events import POISON

pytestmark = pytest.mark.integration

SCHEMA = published(RECORD_FILE)
KEY = "property-test-key"

nasty_json = st.one_of(
    st.integers(1, 20_000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(1, 5_000).map(lambda n: b'{"a":' * n + b"0" + b"}" * n),
    st.sampled_from([b"1e999999", b"-0", b"9" * 5000, b'"\\ud800"', b'{"event_id": "\\u0000"}', b"\x00",
                     b'{"occurred_at": "9999-12-31T23:59:59-23:59"}', b"NaN", b"null", b""]),
)


def _with_extreme_dates(record: dict, moment: str) -> bytes:
    return json.dumps({**record, "occurred_at": moment}).encode()


extreme_moments = st.sampled_from(["9999-12-31T23:59:59-23:59", "9999-12-31T23:59:59.999999+23:59",
                                   "0001-01-01T00:00:00+23:59", "2026-01-01T00:00:00+07:00\n"])
records = st.one_of(
    instances(SCHEMA).map(lambda r: json.dumps(r).encode()),
    st.tuples(instances(SCHEMA), extreme_moments).map(lambda t: _with_extreme_dates(*t)),
    st.binary(max_size=300),
    nasty_json,
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
)


@pytest.fixture
def conn(database_url):
    with psycopg.connect(database_url) as c:
        yield c


@hypothesis_settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                             HealthCheck.too_slow])
@given(batch=st.lists(records, min_size=1, max_size=4))
def test_every_record_is_applied_or_refused_with_its_error(conn, batch):
    pseudonymiser, key = Pseudonymiser(KEY), digest_key(KEY)
    lists, refused = {ENROLMENT: [], CONFERENCE: [], RETRACTION: []}, []
    for value in batch:
        try:
            table, row = record_row(value, pseudonymiser, key)
        except POISON as exc:
            refused.append(describe(exc))
            continue
        lists[table].append(row)
    rows = (lists[ENROLMENT], lists[CONFERENCE], lists[RETRACTION])
    result, in_database = apply_isolating(conn, *rows)
    refused += [r.error for r in in_database]
    assert all(refused)  # every refusal carries its error
    decoded = sum(map(len, rows))
    assert result.applied + result.conferences + result.retractions + result.duplicates + len(in_database) \
        + result.retracted_on_arrival == decoded
    assert decoded + len(refused) - len(in_database) == len(batch)
    stored = {r[0] for rs in rows for r in rs} - {rows[r.list_index][r.index][0] for r in in_database}
    found = conn.execute("SELECT count(*) FROM (SELECT event_id FROM enrolment_events UNION ALL "
                         "SELECT event_id FROM conference_events UNION ALL SELECT event_id FROM event_retractions) e "
                         "WHERE event_id = ANY(%s)", (list(stored),)).fetchone()
    assert found[0] == len(stored)
