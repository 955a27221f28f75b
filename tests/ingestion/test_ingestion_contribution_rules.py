"""The voluntary BHXH plausibility arithmetic (pure, no servers)."""
from datetime import date
from decimal import Decimal

import pytest

from service.domain.contribution import ContributionRule, check_voluntary_contribution, rule_in_force
from service.domain.model import Contribution, SupportGroup as G

RULE_2025 = ContributionRule(
    effective_from=date(2025, 7, 1), effective_to=date(2026, 12, 31), poverty_line_vnd=1_500_000,
    reference_level_vnd=2_340_000, income_cap_multiple=20, contribution_rate=Decimal("0.22"),
    allowed_months=frozenset({1, 3, 6, 12}), max_advance_months=60, max_advance_discount=Decimal("0.25"),
    support={G.POOR: Decimal("0.50"), G.NEAR_POOR: Decimal("0.40"), G.ETHNIC_MINORITY: Decimal("0.30"),
             G.OTHER: Decimal("0.20")},
    rounding_tolerance_vnd=1000,
)
RULE_2024 = ContributionRule(
    **{**RULE_2025.__dict__, "effective_from": date(2024, 7, 1), "effective_to": date(2025, 6, 30),
       "support": {G.POOR: Decimal("0.30"), G.NEAR_POOR: Decimal("0.25"), G.ETHNIC_MINORITY: Decimal("0.10"),
                   G.OTHER: Decimal("0.10")}}
)


def rules_of(violations):
    return [(v.field, v.rule) for v in violations]


@pytest.mark.parametrize("group, monthly", [
    # 22 % × 1,500,000 = 330,000 less the state's share of 22 % × poverty line (330,000)
    (G.POOR, 165_000), (G.NEAR_POOR, 198_000), (G.ETHNIC_MINORITY, 231_000), (G.OTHER, 264_000),
])
def test_monthly_due_at_the_poverty_line_by_support_group(group, monthly):
    assert RULE_2025.monthly_due_vnd(1_500_000, group) == monthly
    assert check_voluntary_contribution(RULE_2025, Contribution(12, 12 * monthly, 1_500_000, group)) == []


def test_support_shares_before_july_2025_are_lower():
    assert RULE_2024.monthly_due_vnd(1_500_000, G.POOR) == 330_000 - 99_000
    assert RULE_2024.monthly_due_vnd(1_500_000, G.OTHER) == 330_000 - 33_000


def test_no_support_group_counts_as_other():
    assert check_voluntary_contribution(RULE_2025, Contribution(3, 3 * 374_000, 2_000_000)) == []


def test_income_bounds_are_the_poverty_line_and_twenty_times_the_reference_level():
    top = 46_800_000
    ok = Contribution(1, RULE_2025.monthly_due_vnd(top, G.OTHER), top, G.OTHER)
    assert check_voluntary_contribution(RULE_2025, ok) == []
    too_high = Contribution(1, RULE_2025.monthly_due_vnd(top + 1, G.OTHER), top + 1, G.OTHER)
    too_low = Contribution(1, 200_000, 1_499_999, G.OTHER)
    for c in (too_high, too_low):
        assert rules_of(check_voluntary_contribution(RULE_2025, c)) == [
            ("contribution.chosen_income_vnd", "contribution_income_range")]


@pytest.mark.parametrize("months", [2, 4, 5, 7, 11, 13, 18, 30, 72, 120])
def test_months_must_be_a_payment_period(months):
    c = Contribution(months, months * 374_000, 2_000_000, G.OTHER)
    assert rules_of(check_voluntary_contribution(RULE_2025, c)) == [("contribution.months", "contribution_months_allowed")]


@pytest.mark.parametrize("months", [1, 3, 6, 12, 24, 36, 48, 60])
def test_allowed_payment_periods(months):
    assert check_voluntary_contribution(RULE_2025, Contribution(months, months * 374_000, 2_000_000)) == []


def test_amount_within_rounding_tolerance_only():
    exact = 3 * 374_000
    assert check_voluntary_contribution(RULE_2025, Contribution(3, exact + 1000, 2_000_000)) == []
    assert check_voluntary_contribution(RULE_2025, Contribution(3, exact - 1000, 2_000_000)) == []
    for wrong in (exact + 5000, exact - 5000, 3 * 440_000):  # the last: state support forgotten
        (v,) = check_voluntary_contribution(RULE_2025, Contribution(3, wrong, 2_000_000))
        assert (v.field, v.rule) == ("contribution.amount_vnd", "contribution_amount")
        assert "1,122,000 VND" in v.message


def test_advance_payment_may_be_discounted_but_not_inflated():
    full = 36 * 374_000
    assert check_voluntary_contribution(RULE_2025, Contribution(36, int(full * 0.85), 2_000_000)) == []
    assert rules_of(check_voluntary_contribution(RULE_2025, Contribution(36, int(full * 0.70), 2_000_000))) == [
        ("contribution.amount_vnd", "contribution_amount")]
    assert rules_of(check_voluntary_contribution(RULE_2025, Contribution(36, full + 10_000, 2_000_000))) == [
        ("contribution.amount_vnd", "contribution_amount")]


def test_without_chosen_income_the_amount_must_fit_some_income_in_range():
    low, high = 264_000, RULE_2025.monthly_due_vnd(46_800_000, G.OTHER)
    assert check_voluntary_contribution(RULE_2025, Contribution(6, 6 * low)) == []
    assert check_voluntary_contribution(RULE_2025, Contribution(6, 6 * high)) == []
    for amount in (6 * low - 10_000, 6 * high + 10_000):
        assert rules_of(check_voluntary_contribution(RULE_2025, Contribution(6, amount))) == [
            ("contribution.amount_vnd", "contribution_amount")]


def test_rule_in_force_by_date():
    rules = [RULE_2024, RULE_2025]
    assert rule_in_force(rules, date(2025, 6, 30)) is RULE_2024
    assert rule_in_force(rules, date(2025, 7, 1)) is RULE_2025
    assert rule_in_force(rules, date(2027, 1, 1)) is None
    assert rule_in_force(rules, date(2024, 6, 30)) is None
