"""Query and body schemas of the report endpoints, and the documented shapes of their items."""
from __future__ import annotations

import re

from marshmallow import Schema, ValidationError, fields, validate

from ....contract.base import BaseSchema
from ....domain.reporting import (BASES, BREAKDOWNS, LEVELS, LOCALITY_COLUMNS, MEASURES, PERIOD_TYPES, REPORT_CATALOG,
                                  REPORT_SCHEMES, SCOPE_COLUMNS, SUBJECTS, TREND_COLUMNS)
from ....domain.suppression import SUPPRESSED
from ....contract.events import no_control_characters
from ....domain.model import RetractionReason

MAX_PAGE_SIZE = 10_000
MAX_PAGE = 1_000_000  # keeps the offset (page - 1) * page_size far inside bigint
# The months the reports know (report_periods): 2000-01 to 2060-12.
FIRST_YEAR, LAST_YEAR = 2000, 2060
MONTH_PATTERN = r"^(20[0-9]{2})-(0[1-9]|1[0-2])$"  # ECMA-262 in the document; fullmatch here


def _month(value: str) -> None:
    found = re.fullmatch(MONTH_PATTERN[1:-1], value)
    if found is None or not FIRST_YEAR <= int(found.group(1)) <= LAST_YEAR:
        raise ValidationError(f"must be a month YYYY-MM from {FIRST_YEAR}-01 to {LAST_YEAR}-12")


class PageArgs(BaseSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    page_size = fields.Integer(load_default=500, validate=validate.Range(min=1, max=MAX_PAGE_SIZE))
    format = fields.String(validate=validate.OneOf(("json", "csv")),
                           metadata={"description": "csv = same as `Accept: text/csv`"})


class PlaceArgs(PageArgs):
    locality = fields.String(metadata={"description": "exactly this locality (any level)"})
    parent = fields.String(metadata={"description": "the children of this locality (drill-down)"})
    within = fields.String(metadata={"description": "this locality and all its descendants"})
    level = fields.String(validate=validate.OneOf(LEVELS))


class PeriodArgs(PlaceArgs):
    period_type = fields.String(load_default="month", validate=validate.OneOf(PERIOD_TYPES))
    period = fields.String(metadata={"description": "2024-02 (month), 2024-Q1, 2024, 2024-02-YTD; default: the latest month with data"})


class SchemeArgs(PeriodArgs):
    scheme = fields.String(validate=validate.OneOf(REPORT_SCHEMES))


class CoverageArgs(SchemeArgs):
    measure = fields.String(validate=validate.OneOf(MEASURES), metadata={"description": "denominator measure"})


class GrowthArgs(SchemeArgs):
    base_period = fields.String(metadata={"description": "also compare with this earlier period of the same type (e.g. 2019 for 2021): base_active, active_vs_base_pct"})


class OutreachArgs(PeriodArgs):
    campaign = fields.String(load_default="*", metadata={"description": "* = all campaigns (default), empty = none named"})


class BreakdownArgs(SchemeArgs):
    by = fields.String(required=True, validate=validate.OneOf(BREAKDOWNS))
    channel = fields.String()
    agent = fields.String()
    min_cell_size = fields.Integer(validate=validate.Range(min=2, max=1000), metadata={
        "description": "withhold cells of fewer people than this; may raise the token's minimum, never lower it"})


class RetractionArgs(PeriodArgs):
    channel = fields.String()
    agent = fields.String(metadata={"description": "the agent that sent the retracted events"})
    reason = fields.String(validate=validate.OneOf([r.value for r in RetractionReason]))


class PlanArgs(PlaceArgs):
    year = fields.Integer(required=True, validate=validate.Range(min=1990, max=2100))
    subject = fields.String(validate=validate.OneOf(SUBJECTS))
    basis = fields.String(validate=validate.OneOf(BASES))


class DenominatorArgs(PlaceArgs):
    year = fields.Integer(validate=validate.Range(min=1990, max=2100))
    measure = fields.String(validate=validate.OneOf(MEASURES))
    flagged = fields.Boolean(metadata={"description": "only flagged (true) or only plausible (false) rows"})


class TargetArgs(PlaceArgs):
    year = fields.Integer(validate=validate.Range(min=1990, max=2100))
    subject = fields.String(validate=validate.OneOf(SUBJECTS))


class TrendArgs(BaseSchema):
    locality = fields.String(metadata={"description": "default: the nation, or the token's first locality"})
    scheme = fields.String(load_default="BHXH", validate=validate.OneOf(REPORT_SCHEMES))
    months = fields.Integer(load_default=12, validate=validate.Range(min=1, max=120))
    end = fields.String(validate=_month, metadata={
        "pattern": MONTH_PATTERN, "description": "last month, YYYY-MM; default: the latest month with data"})
    format = fields.String(validate=validate.OneOf(("json", "csv")))


class LocalityArgs(PageArgs):
    parent = fields.String(metadata={"description": "the children of this locality"})
    code = fields.String()
    level = fields.String(validate=validate.OneOf(LEVELS))


class LoadArgs(BaseSchema):
    dry_run = fields.Boolean(load_default=False)


class DenominatorRowSchema(BaseSchema):
    locality_code = fields.String(required=True, validate=no_control_characters)
    year = fields.Integer(required=True, validate=validate.Range(min=1990, max=2100))
    measure = fields.String(required=True, validate=validate.OneOf(MEASURES))
    value = fields.Integer(required=True, validate=validate.Range(min=0))
    source = fields.String(load_default="", validate=no_control_characters)


class TargetRowSchema(BaseSchema):
    locality_code = fields.String(required=True, validate=no_control_characters)
    year = fields.Integer(required=True, validate=validate.Range(min=1990, max=2100))
    subject = fields.String(required=True, validate=validate.OneOf(SUBJECTS))
    basis = fields.String(required=True, validate=validate.OneOf(BASES))
    target_count = fields.Integer(validate=validate.Range(min=0), allow_none=True)
    target_rate_pct = fields.Decimal(validate=validate.Range(min=0, max=100, min_inclusive=False), allow_none=True,
                                     # apispec writes a Decimal field's bounds as strings: say them as numbers
                                     metadata={"minimum": 0, "maximum": 100, "exclusiveMinimum": True})
    denominator_measure = fields.String(validate=validate.OneOf(MEASURES), allow_none=True)
    source = fields.String(load_default="", validate=no_control_characters)


class DenominatorsBody(BaseSchema):
    rows = fields.List(fields.Nested(DenominatorRowSchema), required=True, validate=validate.Length(min=1, max=100_000))


class TargetsBody(BaseSchema):
    rows = fields.List(fields.Nested(TargetRowSchema), required=True, validate=validate.Length(min=1, max=100_000))


class RejectedSchema(Schema):
    line = fields.Integer(metadata={"description": "1-based position in `rows`"})
    locality_code = fields.String()
    reason = fields.String()


class LoadReportSchema(Schema):
    added = fields.Integer()
    changed = fields.Integer()
    unchanged = fields.Integer()
    rejected = fields.List(fields.Nested(RejectedSchema))
    dry_run = fields.Boolean()


# ---- documented response shapes, derived from the report catalog (domain/reporting.py) ----

_STRINGS = {"period_type", "period", "locality_code", "locality_name", "level", "scheme", "denominator_measure",
            "denominator_flag", "campaign", "channel", "agent_id", "sex", "age_band", "subject", "basis",
            "measure", "source", "flag", "code", "name", "parent_code", "base_period", "reason"}
_DATES = {"period_start", "period_end"}


def _field(column: str) -> fields.Field:
    if column == SUPPRESSED:
        return fields.List(fields.String(), metadata={
            "description": "columns withheld (null) in this row: small cells, and cells they could be computed back from"})
    if column in _STRINGS:
        return fields.String(allow_none=True)
    if column in _DATES:
        return fields.Date()
    if column.endswith("_pct") or column == "enrolments_per_conference":
        return fields.Float(allow_none=True)
    return fields.Integer(allow_none=True)


def item_schema(name: str, columns: tuple[str, ...]) -> type[Schema]:
    return Schema.from_dict({c: _field(c) for c in columns}, name=name)


def page_schema(name: str, item: type[Schema]) -> type[Schema]:
    return Schema.from_dict(
        {
            "report": fields.String(),
            "filters": fields.Dict(metadata={"description": "the filters applied, defaults included"}),
            "page": fields.Integer(),
            "page_size": fields.Integer(),
            "total": fields.Integer(metadata={"description": "rows over all pages"}),
            "items": fields.List(fields.Nested(item)),
        },
        name=name,
    )


def report_page_schema(report: str, extra: tuple[str, ...] = ()) -> type[Schema]:
    base = report.replace("breakdown:", "Breakdown_").title().replace("_", "")
    item = item_schema(f"{base}Item", REPORT_CATALOG[report].columns + extra)
    return page_schema(f"{base}Page", item)


TREND_PAGE = page_schema("TrendPage", item_schema("TrendItem", TREND_COLUMNS))
LOCALITY_PAGE = page_schema("LocalityPage", item_schema("LocalityItem", LOCALITY_COLUMNS))


class ScopeSchema(Schema):
    nation = fields.Boolean(metadata={"description": "true: the token sees the whole nation"})
    localities = fields.List(fields.Nested(item_schema("ScopeLocality", SCOPE_COLUMNS)), metadata={
        "description": "the roots of the subtrees the token sees (the nation's root when `nation`)"})
    min_cell_size = fields.Integer(allow_none=True, metadata={
        "description": "breakdown cells below this are withheld for this token (null: no suppression)"})
