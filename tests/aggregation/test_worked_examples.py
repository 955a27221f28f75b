"""Worked examples from the articles, through the real broker, worker and PostgreSQL."""
import random
import threading
from datetime import UTC, datetime

import psycopg
import pytest

from eventgen import enrolment, personal_id, si_number
from pipeline_helpers import produce, wait_consumed
from service.bootstrap import build_consumer

pytestmark = pytest.mark.integration

SA_DEC = "87001"  # a ward of Sa Đéc (Đồng Tháp, province code 87)
ELSEWHERE = "87002"


def at(y, m, d, h=3):
    return datetime(y, m, d, h, tzinfo=UTC)


def sa_dec_2020() -> list:
    """Events of a commune where exactly 12,844 people are active in BHXH_BB at the end of
    2020, with lapses, re-activations, late and re-sent events, a move, links of SI numbers to
    personal ids, and events on both sides of midnight of 31 Dec 2020 in Vietnam."""
    rng = random.Random(2020)
    events, n = [], 0

    def person():
        nonlocal n
        n += 1
        return personal_id(n), si_number(n)

    def reg(kind, when, pid=None, sin=None, where=SA_DEC):
        events.append(enrolment(kind, when, pid=pid, sin=sin, locality=where, money=(1, 4_400_000)
                                if kind in ("registered", "renewed") else None))

    for _ in range(11_800):  # active all along: registered 2019, renewed 2020
        pid, _ = person()
        reg("registered", at(2019, rng.randint(1, 12), rng.randint(1, 28)), pid)
        reg("renewed", at(2020, rng.randint(1, 12), rng.randint(1, 28)), pid)
    for _ in range(600):  # lapsed in June 2020: not active
        pid, _ = person()
        reg("registered", at(2019, 5, 1), pid)
        reg("lapsed", at(2020, 6, 15), pid)
    late_lapses = []
    for _ in range(500):  # lapsed in March, active again in September; the lapse arrives last
        pid, _ = person()
        reg("registered", at(2019, 3, 1), pid)
        reg("renewed", at(2020, 9, 1), pid)
        late_lapses.append(enrolment("lapsed", at(2020, 3, 10), pid=pid))
    for _ in range(344):  # registered Nov 2020, synced only after their Feb 2021 renewal
        pid, _ = person()
        reg("renewed", at(2021, 2, 1), pid)
        reg("registered", at(2020, 11, 20), pid)
    for _ in range(300):  # lapsed at 23:30 on 31 Dec 2020 in Vietnam (16:30 UTC): not active
        pid, _ = person()
        reg("registered", at(2020, 5, 1), pid)
        reg("lapsed", datetime(2020, 12, 31, 16, 30, tzinfo=UTC), pid)
    for _ in range(200):  # registered at 00:30 on 1 Jan 2021 in Vietnam: not yet active
        pid, _ = person()
        reg("registered", datetime(2020, 12, 31, 17, 30, tzinfo=UTC), pid)
    for _ in range(150):  # moved to another commune in October 2020
        pid, _ = person()
        reg("registered", at(2019, 2, 1), pid)
        reg("renewed", at(2020, 10, 1), pid, where=ELSEWHERE)
    for _ in range(200):  # known by SI number in 2019, by both numbers in 2020: one person
        pid, sin = person()
        reg("registered", at(2019, 7, 1), sin=sin)
        reg("renewed", at(2020, 7, 1), pid, sin)
    events += late_lapses
    events += rng.sample(events, len(events) // 30)  # re-sent after timeouts
    return events


def test_sa_dec_12844_active_in_bhxh_bb_at_end_of_2020(settings):
    events = sa_dec_2020()
    total = produce(settings, events)
    worker = build_consumer(settings.with_(worker_metrics_port=0))
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        wait_consumed(settings, total, timeout_s=150)
    finally:
        worker.request_stop()
        thread.join(30)
    with psycopg.connect(settings.database_url) as conn:
        stock = lambda month: conn.execute(  # noqa: E731
            "SELECT coalesce(sum(delta), 0) FROM agg_active_changes"
            " WHERE locality_code = %s AND scheme = 'BHXH_BB' AND month <= %s", (SA_DEC, month)).fetchone()[0]
        assert stock("2020-12-01") == 12_844
        assert stock("2021-01-01") == 12_844 + 200
        by_sex = conn.execute(
            "SELECT sum(delta) FROM agg_active_changes_by_person"
            " WHERE locality_code = %s AND scheme = 'BHXH_BB' AND month <= '2020-12-01'", (SA_DEC,)).fetchone()[0]
        assert by_sex == 12_844
        flows = conn.execute(
            "SELECT sum(new_participants), sum(reactivations), sum(lapses) FROM agg_flows"
            " WHERE locality_code = %s AND month BETWEEN '2020-01-01' AND '2020-12-01'", (SA_DEC,)).fetchone()
        # new in 2020: 344 (Nov) + 300 (May); re-activations: the 500 of September;
        # lapses: 600 + 500 + 300
        assert tuple(flows) == (644, 500, 1_400)
