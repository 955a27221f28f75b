"""Use cases of the read side: a page of a report, the growth comparison with a base period,
the monthly trend, the locality drill-down, and checking who may write reference data.

Each takes its collaborators as arguments (a `ReportStore`, a token lookup): the Flask report
views and the CLI reference commands translate requests into these calls, and the unit tests
run them on fakes. Access by locality is the store's job (every query is limited to `scope`).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol

from ..domain.access import REFERENCE, Principal, Scope
from ..domain.reporting import REPORT_CATALOG, TREND_COLUMNS, Page

PERIOD_EXAMPLES = {"month": "2024-02", "quarter": "2024-Q1", "year": "2024", "ytd": "2024-02-YTD"}


class ReportStore(Protocol):
    """The report queries (adapters/postgres/reports.py), on one connection."""

    def latest_month(self, scope: Scope) -> date | None: ...
    def period_exists(self, period_type: str, period: str) -> bool: ...
    def fetch(self, report: str, filters: dict[str, Any], *, scope: Scope, limit: int, offset: int,
              min_cell_size: int | None) -> Page: ...
    def base_period_figure(self, figure: str, period_type: str, base_period: str,
                           keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]: ...
    def trend(self, locality: str, scheme: str, end: date, months: int, *, scope: Scope) -> list[dict[str, Any]]: ...
    def localities(self, *, parent: str | None, code: str | None, level: str | None, scope: Scope,
                   limit: int, offset: int) -> Page: ...
    def scope_localities(self, scope: Scope) -> list[dict[str, Any]]:
        """The roots `scope` sees: its subtree roots, or the nation's root."""


class UnknownPeriod(ValueError):
    """A period (or base period) that is not one of its type's (2000 to 2060)."""

    def __init__(self, parameter: str, period_type: str, message: str):
        self.parameter, self.period_type = parameter, period_type
        super().__init__(message)


class NotAReferenceWriter(PermissionError):
    """A token that may not write reference data: unknown, revoked or of another scope."""


def period_of(month: date, period_type: str) -> str:
    """The period of `period_type` that holds `month` (a year to date ends with it)."""
    return {"month": f"{month:%Y-%m}", "quarter": f"{month.year}-Q{(month.month - 1) // 3 + 1}",
            "year": f"{month.year}", "ytd": f"{month:%Y-%m}-YTD"}[period_type]


def resolve_period(store: ReportStore, period_type: str, period: str | None, this_month: date,
                   scope: Scope) -> dict[str, str]:
    """period_type/period: by default the period holding the latest month with data within
    `scope` (this month when there is none); a named period must exist."""
    if period is None:
        period = period_of(store.latest_month(scope) or this_month, period_type)
    elif not store.period_exists(period_type, period):
        raise UnknownPeriod("period", period_type, f"not a {period_type} period between 2000 and 2060 "
                                                   f"(e.g. {PERIOD_EXAMPLES[period_type]})")
    return {"period_type": period_type, "period": period}


def min_cell_size(token_minimum: int | None, requested: int | None) -> int | None:
    """The token's minimum cell size, raised (never lowered) by the request's."""
    return max((n for n in (token_minimum, requested) if n is not None), default=None)


@dataclass(frozen=True)
class Paging:
    page: int  # 1-based
    page_size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


def report(store: ReportStore, name: str, args: dict[str, Any], paging: Paging, *, scope: Scope,
           this_month: date, token_min_cell_size: int | None) -> tuple[Page, dict[str, Any]]:
    """One page of report `name` within `scope`, and the filters applied (defaults included).
    `args` may hold more than the report's filters (paging, format): only its whitelisted
    filters, period_type/period and min_cell_size are read."""
    spec = REPORT_CATALOG[name]
    filters = {k: v for k, v in args.items() if k in spec.filters and v is not None}
    if spec.periodic:
        filters = resolve_period(store, args.get("period_type", "month"), args.get("period"), this_month,
                                 scope) | filters
    page = store.fetch(name, filters, scope=scope, limit=paging.page_size, offset=paging.offset,
                       min_cell_size=min_cell_size(token_min_cell_size, args.get("min_cell_size")))
    return page, filters | page.meta


GROWTH_BASE_COLUMNS = ("base_period", "base_active", "active_vs_base_pct",
                       "base_new_participants", "new_participants_vs_base_pct")


def percentage(value: int, base: int) -> float | None:
    """value as a percentage of base (211.35 = 2.1135 times), two decimals, half up."""
    if not base:
        return None
    return float((Decimal(100 * value) / Decimal(base)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def compare_with_base_period(store: ReportStore, page: Page, period_type: str, base_period: str) -> None:
    """Add to each growth row its locality and scheme's active and new participants of
    `base_period` (0 when it has none there) and the percentages against them."""
    if not store.period_exists(period_type, base_period):
        raise UnknownPeriod("base_period", period_type, f"not a {period_type} period")
    keys = [(i["locality_code"], i["scheme"]) for i in page.items]
    stock = store.base_period_figure("active", period_type, base_period, keys)
    new = store.base_period_figure("new_participants", period_type, base_period, keys)
    for item in page.items:
        key = (item["locality_code"], item["scheme"])
        item["base_period"] = base_period
        item["base_active"] = stock.get(key, 0)
        item["active_vs_base_pct"] = percentage(item["active"], item["base_active"])
        item["base_new_participants"] = new.get(key, 0)
        item["new_participants_vs_base_pct"] = percentage(item["new_participants"], item["base_new_participants"])
    page.columns = page.columns + GROWTH_BASE_COLUMNS


def trend(store: ReportStore, *, locality: str | None, scheme: str, months: int, end: date | None,
          scope: Scope, this_month: date, nation: str) -> tuple[Page, dict[str, Any]]:
    """The monthly series of a locality (default: the nation, or the scope's first root) and
    scheme, ending with `end` (default: the latest month with data within `scope`, else this
    month)."""
    end = end or store.latest_month(scope) or this_month
    locality = locality or min(scope.roots, default=nation)
    items = store.trend(locality, scheme, end, months, scope=scope)
    filters = {"locality": locality, "scheme": scheme, "months": months, "end": f"{end:%Y-%m}"}
    return Page(items, len(items), TREND_COLUMNS), filters


def localities(store: ReportStore, args: dict[str, Any], paging: Paging, *, scope: Scope) -> tuple[Page, dict[str, Any]]:
    """A page of the locality tree for drill-down within `scope` (parent, code, level)."""
    filters = {k: args[k] for k in ("parent", "code", "level") if args.get(k) is not None}
    page = store.localities(parent=filters.get("parent"), code=filters.get("code"), level=filters.get("level"),
                            scope=scope, limit=paging.page_size, offset=paging.offset)
    return page, filters


def reference_writer(lookup: Callable[[str], Principal | None], token: str) -> frozenset[str]:
    """The localities a reference token may write (empty: the nation). `lookup` finds a
    well-formed, unrevoked token's principal; any other token is refused."""
    found = lookup(token)
    if found is None:
        raise NotAReferenceWriter("unknown or revoked token")
    if found.scope != REFERENCE:
        raise NotAReferenceWriter(f"writing reference data needs a token of scope '{REFERENCE}', not '{found.scope}'")
    return found.localities
