"""The pure domain: timeline derivation and identity union, without servers."""
import random
from datetime import UTC, datetime

from hypothesis import given, settings as hsettings, strategies as st

from eventgen import AGENTS, PARENTS, enrolment, event_sets, personal_id, retraction, with_retractions
from reference import assert_matches_reference, without_retracted
from service.domain.aggregation import aggregate
from service.domain.participants import resolve
from service.domain.timeline import TimelineEvent, derive

JAN = datetime(2020, 1, 10, tzinfo=UTC)
MAR = datetime(2020, 3, 10, tzinfo=UTC)
MAY = datetime(2020, 5, 10, tzinfo=UTC)


def facts(*events):
    return derive([TimelineEvent.from_event(e) for e in events])


def test_registration_then_lapse_gives_plus_and_minus_at_month_ends():
    pid = personal_id(1)
    f = facts(enrolment("registered", JAN, pid=pid), enrolment("lapsed", MAR, pid=pid))
    sex, year = "female", 1981
    assert f.stock == {("BHXH_BB", "87001", JAN.date().replace(day=1), sex, year): 1,
                       ("BHXH_BB", "87001", MAR.date().replace(day=1), sex, year): -1}


def test_late_event_rederives_earlier_months():
    pid = personal_id(2)
    on_time = facts(enrolment("registered", JAN, pid=pid), enrolment("lapsed", MAR, pid=pid),
                    enrolment("renewed", MAY, pid=pid))
    flows = {k[2].month: v for k, v in on_time.flows.items()}
    assert flows[1].new_participants == 1 and flows[3].lapses == 1 and flows[5].reactivations == 1
    # the same set, given in another order, derives the same facts
    shuffled = facts(enrolment("renewed", MAY, pid=pid, event_id=None), enrolment("registered", JAN, pid=pid),
                     enrolment("lapsed", MAR, pid=pid))
    assert on_time.stock == shuffled.stock


def test_move_between_communes_moves_the_stock():
    pid = personal_id(3)
    f = facts(enrolment("registered", JAN, pid=pid, locality="87001"),
              enrolment("renewed", MAR, pid=pid, locality="87002"))
    deltas = {(k[1], k[2].month): v for k, v in f.stock.items()}
    assert deltas == {("87001", 1): 1, ("87001", 3): -1, ("87002", 3): 1}
    assert sum(v.renewals for v in f.flows.values()) == 1


def test_month_is_vietnam_time():
    # 2020-01-31 17:30 UTC is 2020-02-01 00:30 in Hanoi
    f = facts(enrolment("registered", datetime(2020, 1, 31, 17, 30, tzinfo=UTC), pid=personal_id(4)))
    assert [k[2].month for k in f.stock] == [2]


def test_identity_links_are_transitive_and_merge_known_participants():
    res = resolve([("pidA", "sinA"), ("pidB", "sinB"), ("sinA", None)], {"pidA": 7, "sinB": 3, "sinA": 7})
    # pidB/sinB group joins participant 3; pidA/sinA stays 7: two groups, no merge
    assert res.merges == {}
    assert res.assign == {"pidB": 3}
    res = resolve([("pidA", "sinB")], {"pidA": 7, "sinB": 3})
    assert res.merges == {7: 3} and res.assign == {"pidA": 3} and res.touched == {3, 7}
    res = resolve([("new1", "new2"), ("new3", None)], {})
    assert sorted(map(sorted, res.new_groups)) == [["new1", "new2"], ["new3"]]


@hsettings(max_examples=150, deadline=None)
@given(event_sets())
def test_domain_matches_simple_reference_in_any_order(events):
    tables = aggregate(events)
    assert_matches_reference(tables, events)
    shuffled = events + random.sample(events, k=len(events) // 3)
    random.shuffle(shuffled)
    assert aggregate(shuffled) == tables


def _places(code):
    while code is not None:
        yield code
        code = PARENTS.get(code)


@hsettings(max_examples=150, deadline=None)
@given(st.data())
def test_with_retractions_the_figures_are_those_of_the_set_without_the_retracted(data):
    events = data.draw(with_retractions(data.draw(event_sets())))
    tables = aggregate(events, _places)
    assert_matches_reference(tables, events, PARENTS)
    assert tables == aggregate(without_retracted(events, PARENTS))
    shuffled = events + data.draw(st.lists(st.sampled_from(events), max_size=len(events)))
    assert aggregate(data.draw(st.permutations(shuffled)), _places) == tables


def test_only_the_sender_or_a_supervisor_of_the_province_retracts():
    event = enrolment("registered", JAN, pid=personal_id(1), locality="87002", agent=AGENTS[0])
    kept = aggregate([event])
    assert aggregate([event, retraction(event, by=AGENTS[1])], _places) == kept
    assert aggregate([event, retraction(event, provinces=frozenset({"79"}))], _places) == kept
    assert aggregate([retraction(event, provinces=frozenset({"87"})), event], _places) == aggregate([])
    assert aggregate([event, retraction(event, by=AGENTS[0])]) == aggregate([])
    of_retraction = retraction(event, by=AGENTS[1])
    assert aggregate([event, of_retraction, retraction(of_retraction, by=AGENTS[1])], _places) == kept
