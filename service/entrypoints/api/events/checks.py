"""Rules the API applies on top of the event contract: they need "now" or reference data.

- `occurred_at` at most `max_clock_skew_s` in the future;
- `locality_code` is a commune in `localities`, in a province the agent is assigned to;
- a BHXH_TN contribution is plausible under the contribution rule in force that day.

Communes and contribution rules are read once per worker process and again every
`settings.reference_refresh_s` seconds (a worker that has none yet reads them on every miss,
at most once a second, so a freshly loaded reference is seen at once).
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from ....domain.contribution import ContributionRule, check_voluntary_contribution, rule_in_force
from ....domain.model import REPORTING_TZ, Scheme
from ..problems import violation

T = TypeVar("T")
PROVINCE_NOT_ASSIGNED = "province_not_assigned"
EMPTY_RETRY_S = 1.0


class Refreshing(Generic[T]):
    """A value read by `load()` and read again once it is older than `ttl_s`."""

    def __init__(self, load: Callable[[], T], ttl_s: float, is_empty: Callable[[T], bool] = lambda v: not v):
        self._load = load
        self._ttl = ttl_s
        self._is_empty = is_empty
        self._lock = threading.Lock()
        self._value: T | None = None
        self._expires = 0.0

    def get(self) -> T:
        now = time.monotonic()
        if self._value is None or now >= self._expires:
            with self._lock:
                if self._value is None or now >= self._expires:
                    self._value = self._load()
                    ttl = EMPTY_RETRY_S if self._is_empty(self._value) else self._ttl
                    self._expires = time.monotonic() + ttl
        return self._value


class EventChecks:
    def __init__(self, communes: Refreshing[dict[str, str]], rules: Refreshing[list[ContributionRule]],
                 max_clock_skew_s: int):
        self._communes = communes
        self._rules = rules
        self._skew = timedelta(seconds=max_clock_skew_s)

    def future(self, moment: datetime, now: datetime) -> list[dict[str, str]]:
        if moment <= now + self._skew:
            return []
        return [violation("occurred_at", "occurred_at_not_future",
                          f"must not be more than {int(self._skew.total_seconds())} s in the future")]

    def violations(self, data: dict, provinces: frozenset[str], now: datetime) -> list[dict[str, str]]:
        """Violations of the API rules by a body that passed EventBodySchema."""
        out = self.future(data["occurred_at"], now)
        province = self._communes.get().get(data["locality_code"])
        if province is None:
            out.append(violation("locality_code", "locality_commune",
                                 "must be the code of a commune or ward in the reference data"))
        elif province not in provinces:
            out.append(violation("locality_code", PROVINCE_NOT_ASSIGNED,
                                 f"this agent is not assigned to province {province}"))
        contribution = data.get("contribution")
        if contribution is not None and data.get("scheme") == Scheme.BHXH_TN:
            day = data["occurred_at"].astimezone(REPORTING_TZ).date()
            rule = rule_in_force(self._rules.get(), day)
            if rule is not None:  # before the first dated rule nothing is known to check against
                out.extend(violation(v.field, v.rule, v.message)
                           for v in check_voluntary_contribution(rule, contribution))
        return out
