"""Plausibility of a voluntary social insurance (BHXH_TN) contribution. Pure arithmetic.

The figures (poverty line, reference level, rate, allowed periods, state support) change by
decree, so they are data: `ContributionRule` rows with effective dates, loaded from
`seeds/contribution_rules.csv` into the `contribution_rules` table.

A participant pays `rate × chosen income` a month, the income between the rural poverty line
and `income_cap_multiple × reference level`; the state pays `support share × rate × poverty
line` a month of that, by support group. Payment covers 1, 3, 6 or 12 months, or is made in
advance for whole years up to `max_advance_months` (discounted by at most
`max_advance_discount`, as the advance formula discounts future months).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from .model import Contribution, SupportGroup


@dataclass(frozen=True)
class ContributionRule:
    effective_from: date
    effective_to: date | None  # inclusive; None = open-ended
    poverty_line_vnd: int
    reference_level_vnd: int
    income_cap_multiple: int
    contribution_rate: Decimal
    allowed_months: frozenset[int]
    max_advance_months: int
    max_advance_discount: Decimal
    support: dict[SupportGroup, Decimal]
    rounding_tolerance_vnd: int

    def in_force(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)

    @property
    def min_income_vnd(self) -> int:
        return self.poverty_line_vnd

    @property
    def max_income_vnd(self) -> int:
        return self.income_cap_multiple * self.reference_level_vnd

    def monthly_due_vnd(self, income_vnd: int, group: SupportGroup) -> int:
        """What the participant pays for one month, after the state's support."""
        own = self.contribution_rate * income_vnd
        support = self.support[group] * self.contribution_rate * self.poverty_line_vnd
        return int((own - support).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Violation:
    field: str  # path inside the event body
    rule: str
    message: str


def rule_in_force(rules: list[ContributionRule], day: date) -> ContributionRule | None:
    for rule in rules:
        if rule.in_force(day):
            return rule
    return None


def _vnd(n: int) -> str:
    return f"{n:,} VND"


def check_voluntary_contribution(rule: ContributionRule, c: Contribution) -> list[Violation]:
    """Everything implausible about `c` under `rule` (empty when plausible).

    No support group given counts as `other`, the group every participant belongs to at least.
    """
    out: list[Violation] = []
    advance = c.months > 12
    if advance:
        if c.months % 12 or c.months > rule.max_advance_months:
            out.append(Violation("contribution.months", "contribution_months_allowed",
                                 f"{c.months} months is not a payment period: allowed are "
                                 f"{sorted(rule.allowed_months)} or whole years in advance up to {rule.max_advance_months}"))
    elif c.months not in rule.allowed_months:
        out.append(Violation("contribution.months", "contribution_months_allowed",
                             f"{c.months} months is not a payment period: allowed are "
                             f"{sorted(rule.allowed_months)} or whole years in advance up to {rule.max_advance_months}"))

    income = c.chosen_income_vnd
    if income is not None and not rule.min_income_vnd <= income <= rule.max_income_vnd:
        out.append(Violation("contribution.chosen_income_vnd", "contribution_income_range",
                             f"must be between the poverty line {_vnd(rule.min_income_vnd)} and "
                             f"{rule.income_cap_multiple} × the reference level {_vnd(rule.max_income_vnd)}"))
    if out:
        return out

    group = c.support_group or SupportGroup.OTHER
    low_income, high_income = (income, income) if income is not None else (rule.min_income_vnd, rule.max_income_vnd)
    expected_low = c.months * rule.monthly_due_vnd(low_income, group)
    expected_high = c.months * rule.monthly_due_vnd(high_income, group)
    if advance:
        expected_low = int(expected_low * (1 - rule.max_advance_discount))
    tolerance = rule.rounding_tolerance_vnd + c.months
    if not expected_low - tolerance <= c.amount_vnd <= expected_high + tolerance:
        basis = (f"{rule.contribution_rate:.0%} × {_vnd(income)}" if income is not None
                 else f"{rule.contribution_rate:.0%} × an income between {_vnd(low_income)} and {_vnd(high_income)}")
        expected = _vnd(expected_high) if expected_low == expected_high else f"{_vnd(expected_low)}–{_vnd(expected_high)}"
        out.append(Violation("contribution.amount_vnd", "contribution_amount",
                             f"expected {expected} ({basis} × {c.months} months less state support for "
                             f"'{group.value}' of {rule.support[group]:.0%} of {rule.contribution_rate:.0%} × the "
                             f"poverty line {_vnd(rule.poverty_line_vnd)})"))
    return out
