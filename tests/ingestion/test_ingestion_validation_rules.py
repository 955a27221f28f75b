"""Every validation rule of an event, without servers: the contract schema, then the API's
own rules (fresh clock, commune in an assigned province, contribution plausibility)."""
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from marshmallow import ValidationError

from ingestion_helpers import HANOI_COMMUNE, HCM_COMMUNE, conference, enrolment
from service.contract.events import EventBodySchema
from service.domain.contribution import ContributionRule
from service.domain.model import SupportGroup as G
from service.entrypoints.api.events.checks import EventChecks, Refreshing
from service.entrypoints.api.problems import flatten

NOW = datetime(2025, 9, 1, 3, 0, tzinfo=UTC)
RULES = [ContributionRule(
    effective_from=date(2025, 7, 1), effective_to=None, poverty_line_vnd=1_500_000, reference_level_vnd=2_340_000,
    income_cap_multiple=20, contribution_rate=Decimal("0.22"), allowed_months=frozenset({1, 3, 6, 12}),
    max_advance_months=60, max_advance_discount=Decimal("0.25"),
    support={G.POOR: Decimal("0.5"), G.NEAR_POOR: Decimal("0.4"), G.ETHNIC_MINORITY: Decimal("0.3"), G.OTHER: Decimal("0.2")},
    rounding_tolerance_vnd=1000)]
CHECKS = EventChecks(Refreshing(lambda: {HANOI_COMMUNE: "01", HCM_COMMUNE: "79"}, 60),
                     Refreshing(lambda: RULES, 60), max_clock_skew_s=300)


def violations(body: dict, provinces=frozenset({"01"})) -> list[tuple[str, str]]:
    try:
        data = EventBodySchema().load(body)
    except ValidationError as err:
        return sorted((v["field"], v["rule"]) for v in flatten(err.messages))
    return sorted((v["field"], v["rule"]) for v in CHECKS.violations(data, provinces, NOW))


def test_valid_events_pass():
    assert violations(enrolment()) == []
    assert violations(conference(locality_code=HANOI_COMMUNE)) == []
    assert violations(enrolment(participant={"si_number": "0123456789"})) == []


@pytest.mark.parametrize("body, expected", [
    (enrolment(colour="red"), [("colour", "unknown_field")]),
    (enrolment(participant={"personal_id": "001188012345", "name": "x"}), [("participant.name", "unknown_field")]),
    (enrolment(event_id=42), [("event_id", "uuid")]),
    (enrolment(event_id="not-a-uuid"), [("event_id", "uuid")]),
    (enrolment(kind="joined"), [("kind", "one_of")]),
    (enrolment(scheme="BHXH"), [("scheme", "one_of")]),
    (enrolment(contribution={"months": "three", "amount_vnd": 1}), [("contribution.months", "type")]),
    (enrolment(locality_code=4), [("locality_code", "type")]),
    (enrolment(locality_code="0004"), [("locality_code", "format")]),
    (enrolment(participant={"personal_id": "00118801234"}), [("participant.personal_id", "format")]),
    (enrolment(participant={"si_number": "01234A6789"}), [("participant.si_number", "format")]),
    (enrolment(participant={"sex": "male"}), [("participant.personal_id", "participant_identified")]),
    (enrolment(participant={"personal_id": "001188012345", "sex": "male"}), [("participant.sex", "personal_id_consistency")]),
    (enrolment(participant={"personal_id": "001188012345", "birth_year": 1989}),
     [("participant.birth_year", "personal_id_consistency")]),
    # century digit 2/3 is 2000-2099: 2 = male born 2005
    (enrolment(participant={"personal_id": "079205012345", "birth_year": 1905}),
     [("participant.birth_year", "personal_id_consistency")]),
    (enrolment(occurred_at="2025-08-12T09:30:00"), [("occurred_at", "datetime_with_offset")]),
    (enrolment(occurred_at="1994-12-31T23:59:59+00:00"), [("occurred_at", "datetime_with_offset")]),
    (enrolment(occurred_at="2100-01-01T00:00:00+00:00"), [("occurred_at", "datetime_with_offset")]),
    (enrolment(occurred_at="9999-12-31T23:59:59-23:59"), [("occurred_at", "datetime_with_offset")]),
    # not RFC 3339: a seconds offset, a basic offset, a week date, a leap second, 30 February
    (enrolment(occurred_at="2025-01-01T00:00:00+07:00:30"), [("occurred_at", "datetime_with_offset")]),
    (enrolment(occurred_at="2025-01-01T00:00:00+0700"), [("occurred_at", "datetime_with_offset")]),
    (enrolment(occurred_at="2025-W01-1T00:00:00Z"), [("occurred_at", "datetime_with_offset")]),
    (enrolment(occurred_at="2016-12-31T23:59:60Z"), [("occurred_at", "datetime_with_offset")]),
    (enrolment(occurred_at="2025-02-30T00:00:00Z"), [("occurred_at", "datetime_with_offset")]),
    (enrolment(occurred_at="2025-08-12T09:30:00+07:00\n"), [("occurred_at", "datetime_with_offset")]),
    # integers are JSON integers: no fraction, no exponent, no numeric string, no boolean
    (enrolment(contribution={"months": 12, "amount_vnd": 4000000.9}), [("contribution.amount_vnd", "type")]),
    (enrolment(contribution={"months": 12.0, "amount_vnd": 1}), [("contribution.months", "type")]),
    (enrolment(contribution={"months": "12", "amount_vnd": 1}), [("contribution.months", "type")]),
    (enrolment(contribution={"months": True, "amount_vnd": 1}), [("contribution.months", "type")]),
    # $ in Python matches before a trailing newline; the contract's patterns never do
    (enrolment(participant={"si_number": "0123456789\n"}), [("participant.si_number", "format")]),
    (enrolment(participant={"personal_id": "001188012345\n"}), [("participant.personal_id", "format")]),
    (enrolment(locality_code="00070\n"), [("locality_code", "format")]),
    (enrolment(event_id="{5b2a0ee0-1d6d-4d3a-9f0a-3f2b8ad3f5c1}"), [("event_id", "uuid")]),
    (enrolment(event_id="5b2a0ee01d6d4d3a9f0a3f2b8ad3f5c1"), [("event_id", "uuid")]),
    (enrolment(campaign="a\ud800b"), [("campaign", "unicode_text")]),
    (enrolment(kind="lapsed"), [("contribution", "not_allowed_for_kind")]),
    (enrolment(conference={"attendees": 1, "cost_vnd": 0, "organiser": "x"}), [("conference", "not_allowed_for_kind")]),
    ({k: v for k, v in enrolment().items() if k != "scheme"}, [("scheme", "required_for_kind")]),
    (conference(scheme="BHTN"), [("scheme", "not_allowed_for_kind")]),
    ({k: v for k, v in conference().items() if k != "conference"}, [("conference", "required_for_kind")]),
    ({k: v for k, v in enrolment().items() if k != "event_id"}, [("event_id", "required")]),
    (enrolment(campaign=None), [("campaign", "not_null")]),
    (enrolment(campaign="Tháng\x00cao điểm"), [("campaign", "no_control_characters")]),
    (enrolment(contribution={"months": 1, "amount_vnd": 10**12 + 1}), [("contribution.amount_vnd", "range")]),
    (conference(conference={"attendees": 3, "cost_vnd": 10**13, "organiser": "Hội\nND"}),
     [("conference.cost_vnd", "range"), ("conference.organiser", "no_control_characters")]),
])
def test_contract_rules(body, expected):
    assert violations(body) == expected


def test_occurred_at_in_the_future_beyond_clock_skew():
    assert violations(enrolment(occurred_at=(NOW + timedelta(seconds=299)).isoformat())) == []
    assert violations(enrolment(occurred_at=(NOW + timedelta(seconds=301)).isoformat())) == [
        ("occurred_at", "occurred_at_not_future")]


def test_locality_must_be_a_known_commune():
    assert violations(enrolment(locality_code="99999")) == [("locality_code", "locality_commune")]


def test_agent_may_post_only_for_its_provinces():
    assert violations(enrolment(locality_code=HCM_COMMUNE)) == [("locality_code", "province_not_assigned")]
    assert violations(enrolment(locality_code=HCM_COMMUNE), frozenset({"01", "79"})) == []


def test_voluntary_contribution_plausibility_applies_to_bhxh_tn_only():
    implausible = {"months": 2, "amount_vnd": 5, "chosen_income_vnd": 100}
    assert violations(enrolment(contribution=implausible)) == [
        ("contribution.chosen_income_vnd", "contribution_income_range"), ("contribution.months", "contribution_months_allowed")]
    assert violations(enrolment(contribution={"months": 3, "amount_vnd": 999_999, "chosen_income_vnd": 2_000_000})) == [
        ("contribution.amount_vnd", "contribution_amount")]
    assert violations(enrolment(scheme="BHYT_HGD", contribution=implausible)) == []


def test_contributions_dated_before_any_rule_are_not_judged():
    assert violations(enrolment(occurred_at="2016-05-01T08:00:00+07:00",
                                contribution={"months": 2, "amount_vnd": 5})) == []


def test_messages_name_field_and_rule():
    try:
        EventBodySchema().load(enrolment(participant={"personal_id": "001188012345", "sex": "male"}))
    except ValidationError as err:
        (v,) = flatten(err.messages)
    assert v == {"field": "participant.sex", "rule": "personal_id_consistency",
                 "message": "contradicts the sex encoded in personal_id (female)"}
