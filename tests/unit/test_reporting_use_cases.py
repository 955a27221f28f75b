"""The read-side use cases (service_layer/reporting.py) on a fake store: default periods,
whitelisted filters, paging, the minimum cell size, the base-period comparison, the trend's
defaults and who may write reference data. No servers."""
from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.domain.access import AGENT, NATION, REFERENCE, REPORTING, Principal, Scope
from service.domain.reporting import PERIOD_TYPES, REPORT_CATALOG, TREND_COLUMNS, Page
from service.service_layer import reporting as uc

THIS_MONTH = date(2031, 5, 1)


class FakeStore:
    def __init__(self, latest=None, periods=(), items=(), base=None):
        self.latest, self.periods, self.items, self.base = latest, set(periods), list(items), base or {}
        self.scopes_asked = []
        self.calls = []

    def latest_month(self, scope):
        self.scopes_asked.append(scope)
        return self.latest

    def period_exists(self, period_type, period):
        return (period_type, period) in self.periods

    def fetch(self, report, filters, *, scope, limit, offset, min_cell_size):
        self.calls.append(("fetch", report, filters, scope, limit, offset, min_cell_size))
        return Page([dict(i) for i in self.items], len(self.items), REPORT_CATALOG[report].columns, {})

    def base_period_figure(self, figure, period_type, base_period, keys):
        self.calls.append(("base", figure, period_type, base_period, keys))
        return {k: v for k, v in self.base.get(figure, {}).items() if k in keys}

    def trend(self, locality, scheme, end, months, *, scope):
        self.calls.append(("trend", locality, scheme, end, months, scope))
        return [{"period": f"{end:%Y-%m}"}]

    def localities(self, *, parent, code, level, scope, limit, offset):
        self.calls.append(("localities", parent, code, level, scope, limit, offset))
        return Page([], 0, ())


FIRST_PAGE = uc.Paging(1, 500)


def run(store, name, args, paging=FIRST_PAGE, scope=NATION, token_min=None):
    return uc.report(store, name, args, paging, scope=scope, this_month=THIS_MONTH, token_min_cell_size=token_min)


@pytest.mark.parametrize(("period_type", "expected"), [
    ("month", "2024-11"), ("quarter", "2024-Q4"), ("year", "2024"), ("ytd", "2024-11-YTD")])
def test_default_period_holds_the_latest_month_with_data(period_type, expected):
    store = FakeStore(latest=date(2024, 11, 1))
    _, filters = run(store, "flows", {"period_type": period_type})
    assert filters == {"period_type": period_type, "period": expected}
    assert store.calls[0][2] == filters


def test_default_period_without_data_is_this_month():
    _, filters = run(FakeStore(), "coverage", {})
    assert filters == {"period_type": "month", "period": "2031-05"}


@given(st.dates(date(2000, 1, 1), date(2060, 12, 31)), st.sampled_from(PERIOD_TYPES))
def test_the_default_period_holds_its_month(day, period_type):
    month = day.replace(day=1)
    period = uc.period_of(month, period_type)
    assert period.startswith(str(month.year))
    if period_type == "quarter":
        assert month.month in range(3 * int(period[-1]) - 2, 3 * int(period[-1]) + 1)
    if period_type in ("month", "ytd"):
        assert period[:7] == f"{month:%Y-%m}"


def test_a_named_period_must_exist():
    store = FakeStore(periods={("quarter", "2024-Q1")})
    with pytest.raises(uc.UnknownPeriod) as raised:
        run(store, "flows", {"period_type": "quarter", "period": "2024-Q5"})
    assert raised.value.parameter == "period" and "2024-Q1" in str(raised.value)
    assert not store.calls  # nothing read
    _, filters = run(store, "flows", {"period_type": "quarter", "period": "2024-Q1"})
    assert filters["period"] == "2024-Q1"


def test_only_the_reports_filters_reach_the_store_and_paging_is_an_offset():
    store = FakeStore(latest=date(2024, 1, 1))
    args = {"scheme": "BHXH", "channel": None, "agent": "A1", "by": "agent", "format": "csv", "page": 3,
            "page_size": 50, "min_cell_size": None, "period_type": "month", "measure": "x"}
    scope = Scope(frozenset({"01"}))
    run(store, "breakdown:agent", args, uc.Paging(3, 50), scope=scope)
    (_, report, filters, seen_scope, limit, offset, minimum), = store.calls
    assert report == "breakdown:agent" and seen_scope == scope and (limit, offset) == (50, 100)
    assert filters == {"scheme": "BHXH", "agent": "A1", "period_type": "month", "period": "2024-01"}
    assert minimum is None


@given(st.none() | st.integers(2, 1000), st.none() | st.integers(2, 1000))
def test_a_request_raises_the_tokens_minimum_cell_size_never_lowers_it(token_min, requested):
    store = FakeStore(latest=date(2024, 1, 1))
    run(store, "breakdown:sex", {"min_cell_size": requested}, token_min=token_min)
    minimum = store.calls[0][-1]
    given_sizes = [n for n in (token_min, requested) if n is not None]
    assert minimum == (max(given_sizes) if given_sizes else None)
    if token_min is not None:
        assert minimum >= token_min


def test_non_periodic_reports_take_no_period():
    store = FakeStore(latest=date(2024, 1, 1))
    _, filters = run(store, "plan", {"year": 2025, "period_type": "month"})
    assert filters == {"year": 2025}


def test_base_period_comparison():
    items = [{"locality_code": "01", "scheme": "BHXH", "active": 300, "new_participants": 7},
             {"locality_code": "02", "scheme": "BHXH", "active": 5, "new_participants": 0}]
    store = FakeStore(periods={("year", "2019")}, items=items,
                      base={"active": {("01", "BHXH"): 142}, "new_participants": {("01", "BHXH"): 3}})
    page, _ = run(store, "growth", {"period_type": "year", "period": "2019"})
    uc.compare_with_base_period(store, page, "year", "2019")
    first, second = page.items
    assert first["base_active"] == 142 and first["active_vs_base_pct"] == 211.27  # 300/142 = 2.112676
    assert first["base_new_participants"] == 3 and first["new_participants_vs_base_pct"] == 233.33
    assert second["base_active"] == 0 and second["active_vs_base_pct"] is None  # no base: no rate
    assert page.columns[-len(uc.GROWTH_BASE_COLUMNS):] == uc.GROWTH_BASE_COLUMNS
    assert all(set(uc.GROWTH_BASE_COLUMNS) <= set(i) for i in page.items)


def test_an_unknown_base_period_is_refused_before_reading():
    store = FakeStore(periods={("year", "2024")}, items=[])
    page, _ = run(store, "growth", {"period_type": "year", "period": "2024"})
    with pytest.raises(uc.UnknownPeriod) as raised:
        uc.compare_with_base_period(store, page, "year", "2019-Q1")
    assert raised.value.parameter == "base_period"
    assert not [c for c in store.calls if c[0] == "base"]


@pytest.mark.parametrize(("value", "base", "expected"), [(1, 8, 12.5), (1, 800, 0.13), (1, 3, 33.33), (0, 0, None),
                                                         (5, 0, None), (-1, 8, -12.5), (2, 1, 200.0)])
def test_percentage_rounds_half_up_to_two_decimals(value, base, expected):
    assert uc.percentage(value, base) == expected


def test_trend_defaults():
    store = FakeStore(latest=date(2024, 6, 1))
    page, filters = uc.trend(store, locality=None, scheme="BHXH", months=12, end=None, scope=NATION,
                             this_month=THIS_MONTH, nation="VN")
    assert filters == {"locality": "VN", "scheme": "BHXH", "months": 12, "end": "2024-06"}
    assert page.columns == TREND_COLUMNS and page.total == 1
    limited = Scope(frozenset({"79", "01"}))
    _, filters = uc.trend(FakeStore(), locality=None, scheme="BHYT", months=3, end=None, scope=limited,
                          this_month=THIS_MONTH, nation="VN")
    assert filters == {"locality": "01", "scheme": "BHYT", "months": 3, "end": "2031-05"}
    _, filters = uc.trend(store, locality="79", scheme="BHYT", months=3, end=date(2020, 2, 1), scope=limited,
                          this_month=THIS_MONTH, nation="VN")
    assert filters["locality"] == "79" and filters["end"] == "2020-02"
    assert store.calls[-1] == ("trend", "79", "BHYT", date(2020, 2, 1), 3, limited)


def test_localities_pass_the_drill_down_filters():
    store = FakeStore()
    _, filters = uc.localities(store, {"parent": "01", "code": None, "level": "commune", "page": 2},
                               uc.Paging(2, 10), scope=NATION)
    assert filters == {"parent": "01", "level": "commune"}
    assert store.calls == [("localities", "01", None, "commune", NATION, 10, 10)]


def principal(scope, localities=()):
    return Principal(token_id=1, scope=scope, agent=None, provinces=frozenset(), localities=frozenset(localities))


def test_only_a_reference_token_writes_reference_data():
    tokens = {"ref": principal(REFERENCE, {"46"}), "nation": principal(REFERENCE), "read": principal(REPORTING),
              "agent": principal(AGENT)}
    assert uc.reference_writer(tokens.get, "ref") == {"46"}
    assert uc.reference_writer(tokens.get, "nation") == frozenset()
    for token in ("read", "agent", "unknown"):
        with pytest.raises(uc.NotAReferenceWriter):
            uc.reference_writer(tokens.get, token)


def test_the_default_period_and_trend_end_are_the_readers_latest_month():
    """A reader of one province gets its latest month with data, not the nation's."""
    province = Scope(frozenset({"87"}))
    store = FakeStore(latest=date(2024, 6, 1))
    run(store, "coverage", {}, scope=province)
    uc.trend(store, locality=None, scheme="BHXH_BB", months=3, end=None, scope=province,
             this_month=THIS_MONTH, nation="VN")
    assert store.scopes_asked == [province, province]
