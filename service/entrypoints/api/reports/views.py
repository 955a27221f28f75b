"""Report endpoints: JSON (default) or CSV (`Accept: text/csv` or `?format=csv`), paginated.

Every read needs a token of scope `reporting` (`enrolment tokens`), separate from agents';
writing denominators and targets needs one of scope `reference`. A token limited to localities
reads (or writes) only inside them: `reports` enforces that for every query, a locality named
outside them is 403 (`OutOfScope`).
JSON: {"report", "filters", "page", "page_size", "total", "items": [...]}; CSV: the items with
a header row, and the paging in `X-Total-Count`, `X-Page`, `X-Page-Size` headers.
"""
from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask import Response, g, request
from flask_smorest import Blueprint

from ....adapters.postgres import locality_scope, reference, reports
from ....domain.model import reporting_month
from ....domain.suppression import SUPPRESSED
from ..auth import reference_required, reporting_required
from ..inputs import BodyParser
from ..problems import Problem, violation
from ..resources import current_resources
from . import schemas as s

blp = Blueprint("reports", __name__, url_prefix="/v1/reports",
                description="Coverage reports: stocks, flows, growth, withdrawals, outreach, plan, breakdowns")
blp.ARGUMENTS_PARSER = BodyParser()  # bounded body, JSON nesting and syntax answered as problems
SECURITY = [{"bearerAuth": []}]
CSV_NOTE = "JSON by default; CSV with `Accept: text/csv` or `format=csv`."
_CSV_ANSWER = {200: {"content": {"text/csv": {"schema": {"type": "string"}}}}}


def reader_scope() -> locality_scope.Scope:
    """The signed-in token's localities (set by the auth decorators)."""
    return locality_scope.Scope(frozenset(g.principal.localities))


@blp.errorhandler(locality_scope.OutOfScope)
def out_of_scope(error: locality_scope.OutOfScope) -> Response:
    return Problem(403, "Forbidden", str(error), type_="outside-token-localities",
                   errors=[violation(error.parameter, "token_localities", str(error))]).get_response()


def _report_doc(description: str) -> dict:
    """A report's OpenAPI doc: the reporting token, JSON or CSV (the token is checked before the
    parameters are: `@reporting_required` sits above `@blp.arguments`)."""
    return {"security": SECURITY, "description": description + " " + CSV_NOTE, "responses": _CSV_ANSWER}


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as text: names come from agents, and a text cell starting
    with = + - @ (or tab, CR) would run as a formula (OWASP CSV injection: prefix a quote)."""
    if value is None:
        return ""
    if isinstance(value, list):  # the withheld columns of a row: suppressed = "active;lapses"
        return ";".join(value)
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _wants_csv(args: dict) -> bool:
    if args.get("format"):
        return args["format"] == "csv"
    best = request.accept_mimetypes.best_match(["application/json", "text/csv"])
    return best == "text/csv"


def render(name: str, page: reports.Page, args: dict, filters: dict, page_no: int = 1, page_size: int | None = None) -> Response:
    page_size = page_size or len(page.items)
    if _wants_csv(args):
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(page.columns)
        for item in page.items:
            writer.writerow([csv_cell(item[c]) for c in page.columns])
        return Response(out.getvalue(), mimetype="text/csv", headers={
            "Content-Disposition": f'attachment; filename="{name}.csv"',
            "X-Total-Count": str(page.total), "X-Page": str(page_no), "X-Page-Size": str(page_size),
        })
    body = {"report": name, "filters": filters, "page": page_no, "page_size": page_size,
            "total": page.total, "items": page.items}
    return Response(json.dumps(body, default=_jsonable, ensure_ascii=False), mimetype="application/json")


def _resolve_period(conn, args: dict) -> dict:
    """period_type/period with the default (latest month with data) and a clear 422."""
    period_type = args.get("period_type", "month")
    period = args.get("period")
    if period is None:
        latest = reports.latest_month(conn) or reporting_month(datetime.now().astimezone())
        last = date(latest.year, latest.month, 1)
        period = {"month": f"{last:%Y-%m}", "quarter": f"{last.year}-Q{(last.month - 1) // 3 + 1}",
                  "year": f"{last.year}", "ytd": f"{last:%Y-%m}-YTD"}[period_type]
    elif not reports.period_exists(conn, period_type, period):
        examples = {"month": "2024-02", "quarter": "2024-Q1", "year": "2024", "ytd": "2024-02-YTD"}
        raise Problem(422, "Unprocessable Content", errors=[violation(
            "period", "period_format",
            f"not a {period_type} period between 2000 and 2060 (e.g. {examples[period_type]})")])
    return {"period_type": period_type, "period": period}


def min_cell_size(args: dict) -> int | None:
    """The token's minimum cell size, raised (never lowered) by the request's."""
    sizes = [n for n in (g.principal.min_cell_size, args.get("min_cell_size")) if n is not None]
    return max(sizes, default=None)


def _page(report: str, args: dict, extra: dict | None = None) -> tuple[reports.Page, dict]:
    spec = reports.REPORTS[report]
    filters = {k: v for k, v in args.items() if k in spec.filters and v is not None}
    filters.update(extra or {})
    with current_resources().pool.connection() as conn:
        if spec.periodic:
            filters = _resolve_period(conn, args) | filters
        page = reports.fetch(conn, report, filters, scope=reader_scope(), limit=args["page_size"],
                             offset=(args["page"] - 1) * args["page_size"], min_cell_size=min_cell_size(args))
    return page, filters | page.meta


def _periodic_view(report: str, args: dict) -> Response:
    page, filters = _page(report, args)
    return render(report, page, args, filters, args["page"], args["page_size"])


@blp.route("/scope")
@blp.doc(security=SECURITY, description="What the token sees: the whole nation or the roots of its locality subtrees, and the minimum cell size of its breakdowns.")
@reporting_required
@blp.response(200, s.ScopeSchema)
def scope() -> Response:
    principal = g.principal
    with current_resources().pool.connection() as conn:
        roots = locality_scope.scope_localities(conn, reader_scope())
    body = {"nation": not principal.localities, "localities": roots, "min_cell_size": principal.min_cell_size}
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/json")


@blp.route("/coverage")
@blp.doc(**_report_doc("Active participants at period end against each denominator of the scheme."))
@reporting_required
@blp.arguments(s.CoverageArgs, location="query", unknown=None)  # the schema raises on unknown parameters
@blp.response(200, s.report_page_schema("coverage"))
def coverage(args: dict) -> Response:
    return _periodic_view("coverage", args)


@blp.route("/flows")
@blp.doc(**_report_doc("New participants, re-activations, renewals, lapses, withdrawals and contributions summed over the period."))
@reporting_required
@blp.arguments(s.SchemeArgs, location="query", unknown=None)  # the schema raises on unknown parameters
@blp.response(200, s.report_page_schema("flows"))
def flows(args: dict) -> Response:
    return _periodic_view("flows", args)


GROWTH_BASE_COLUMNS = ("base_period", "base_active", "active_vs_base_pct",
                       "base_new_participants", "new_participants_vs_base_pct")


def _pct(value: int, base: int) -> float | None:
    """value as a percentage of base (211.35 = 2.1135 times), two decimals, half up."""
    if not base:
        return None
    return float((Decimal(100 * value) / Decimal(base)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


@blp.route("/growth")
@blp.doc(**_report_doc("Active and new participants against the previous period, the same period a year earlier and optionally `base_period`."))
@reporting_required
@blp.arguments(s.GrowthArgs, location="query", unknown=None)  # the schema raises on unknown parameters
@blp.response(200, s.report_page_schema("growth", GROWTH_BASE_COLUMNS))
def growth(args: dict) -> Response:
    page, filters = _page("growth", args)
    base = args.get("base_period")
    if base:
        with current_resources().pool.connection() as conn:
            if not reports.period_exists(conn, filters["period_type"], base):
                raise Problem(422, "Unprocessable Content", errors=[violation(
                    "base_period", "period_format", f"not a {filters['period_type']} period")])
            keys = [(i["locality_code"], i["scheme"]) for i in page.items]
            stock = reports.base_period_figure(conn, "active", filters["period_type"], base, keys)
            new = reports.base_period_figure(conn, "new_participants", filters["period_type"], base, keys)
        for item in page.items:
            key = (item["locality_code"], item["scheme"])
            item["base_period"] = base
            item["base_active"] = stock.get(key, 0)
            item["active_vs_base_pct"] = _pct(item["active"], item["base_active"])
            item["base_new_participants"] = new.get(key, 0)
            item["new_participants_vs_base_pct"] = _pct(item["new_participants"], item["base_new_participants"])
        page.columns = page.columns + GROWTH_BASE_COLUMNS
        filters["base_period"] = base
    return render("growth", page, args, filters, args["page"], args["page_size"])


@blp.route("/withdrawals")
@blp.doc(**_report_doc("Lump-sum withdrawals with the change against the previous period (month over month)."))
@reporting_required
@blp.arguments(s.SchemeArgs, location="query", unknown=None)  # the schema raises on unknown parameters
@blp.response(200, s.report_page_schema("withdrawals"))
def withdrawals(args: dict) -> Response:
    return _periodic_view("withdrawals", args)


@blp.route("/outreach")
@blp.doc(**_report_doc("Conferences held and planned, attendees, cost, campaign enrolments, enrolments per conference, cost per enrolment."))
@reporting_required
@blp.arguments(s.OutreachArgs, location="query", unknown=None)  # the schema raises on unknown parameters
@blp.response(200, s.report_page_schema("outreach"))
def outreach(args: dict) -> Response:
    return _periodic_view("outreach", args)


@blp.route("/breakdown")
@blp.doc(**_report_doc("Flows by channel or agent; active participants by sex and/or age band. With a minimum cell size (the token's, or `min_cell_size`), cells of fewer people are withheld: null, listed in the row's `suppressed`, and enough other cells with them that no sum in the answer gives them back."))
@reporting_required
@blp.arguments(s.BreakdownArgs, location="query", unknown=None)  # the schema raises on unknown parameters
@blp.response(200, s.report_page_schema("breakdown:agent", (SUPPRESSED,)))
def breakdown(args: dict) -> Response:
    report = f"breakdown:{args['by']}"
    page, filters = _page(report, args)
    filters["by"] = args["by"]
    return render(f"breakdown-{args['by']}", page, args, filters, args["page"], args["page_size"])


@blp.route("/retractions")
@blp.doc(**_report_doc("Data quality: retractions (corrections) of each agent's events by the period the retracted event "
                       "occurred in, its locality and the reason; retracted events no longer count in any report."))
@reporting_required
@blp.arguments(s.RetractionArgs, location="query", unknown=None)  # the schema raises on unknown parameters
@blp.response(200, s.report_page_schema("retractions"))
def retractions(args: dict) -> Response:
    return _periodic_view("retractions", args)


@blp.route("/plan")
@blp.doc(**_report_doc("Plan attainment per target of the year: achieved against the target count or rate."))
@reporting_required
@blp.arguments(s.PlanArgs, location="query", unknown=None)  # the schema raises on unknown parameters
@blp.response(200, s.report_page_schema("plan"))
def plan(args: dict) -> Response:
    return _periodic_view("plan", args)


@blp.route("/trend")
@blp.doc(**_report_doc("Monthly series for one locality and scheme: active at each month end, new participants, re-activations, lapses, withdrawals."))
@reporting_required
@blp.arguments(s.TrendArgs, location="query", unknown=None)  # the schema raises on unknown parameters
@blp.response(200, s.TREND_PAGE)
def trend(args: dict) -> Response:
    with current_resources().pool.connection() as conn:
        if args.get("end"):
            end = date.fromisoformat(args["end"] + "-01")
        else:
            end = reports.latest_month(conn) or reporting_month(datetime.now().astimezone())
        scope = reader_scope()
        locality = args.get("locality") or min(scope.roots, default=reference.NATION_CODE)
        items = reports.trend(conn, locality, args["scheme"], end, args["months"], scope=scope)
    filters = {"locality": locality, "scheme": args["scheme"], "months": args["months"], "end": f"{end:%Y-%m}"}
    page = reports.Page(items, len(items), reports.TREND_COLUMNS)
    return render("trend", page, args, filters, 1, len(items))


@blp.route("/localities")
@blp.doc(**_report_doc("The locality tree for drill-down: `parent` lists its children; no filter lists the roots."))
@reporting_required
@blp.arguments(s.LocalityArgs, location="query", unknown=None)  # the schema raises on unknown parameters
@blp.response(200, s.LOCALITY_PAGE)
def localities(args: dict) -> Response:
    with current_resources().pool.connection() as conn:
        page = reports.localities(conn, parent=args.get("parent"), code=args.get("code"), level=args.get("level"),
                                  scope=reader_scope(), limit=args["page_size"], offset=(args["page"] - 1) * args["page_size"])
    filters = {k: args[k] for k in ("parent", "code", "level") if args.get(k) is not None}
    return render("localities", page, args, filters, args["page"], args["page_size"])


def _load(loader, rows: list[dict], dry_run: bool) -> Response:
    """Rows outside the reference token's localities are rejected (207), the others loaded."""
    with current_resources().pool.connection() as conn:
        report = loader(conn, rows, dry_run=dry_run, within=g.principal.localities)
    body = {"added": report.added, "changed": report.changed, "unchanged": report.unchanged,
            "rejected": [{"line": r.line, "locality_code": r.code, "reason": r.reason} for r in report.rejected],
            "dry_run": report.dry_run}
    return Response(json.dumps(body, ensure_ascii=False), status=207 if report.rejected else 200,
                    mimetype="application/json")


@blp.route("/denominators", methods=["GET"])
@blp.doc(**_report_doc("Denominators with their plausibility flags."))
@reporting_required
@blp.arguments(s.DenominatorArgs, location="query", unknown=None)  # the schema raises on unknown parameters
@blp.response(200, s.report_page_schema("denominators"))
def list_denominators(args: dict) -> Response:
    return _periodic_view("denominators", args)


@blp.route("/denominators", methods=["POST"])
@blp.doc(security=SECURITY, description="Load denominators (merged by locality, year and measure) with a token of scope `reference`. 207 lists rejected rows; the others are loaded. `dry_run=true` writes nothing.")
@reference_required
@blp.arguments(s.LoadArgs, location="query", unknown=None)  # the schema raises on unknown parameters
@blp.arguments(s.DenominatorsBody, location="json")
@blp.response(200, s.LoadReportSchema)
@blp.alt_response(207, schema=s.LoadReportSchema, description="some rows rejected")
def post_denominators(args: dict, body: dict) -> Response:
    return _load(reference.load_denominators, body["rows"], args["dry_run"])


@blp.route("/targets", methods=["GET"])
@blp.doc(**_report_doc("Targets per locality, year and subject."))
@reporting_required
@blp.arguments(s.TargetArgs, location="query", unknown=None)  # the schema raises on unknown parameters
@blp.response(200, s.report_page_schema("targets"))
def list_targets(args: dict) -> Response:
    return _periodic_view("targets", args)


@blp.route("/targets", methods=["POST"])
@blp.doc(security=SECURITY, description="Load targets (merged by locality, year, subject and basis) with a token of scope `reference`. 207 lists rejected rows. `dry_run=true` writes nothing.")
@reference_required
@blp.arguments(s.LoadArgs, location="query", unknown=None)  # the schema raises on unknown parameters
@blp.arguments(s.TargetsBody, location="json")
@blp.response(200, s.LoadReportSchema)
@blp.alt_response(207, schema=s.LoadReportSchema, description="some rows rejected")
def post_targets(args: dict, body: dict) -> Response:
    return _load(reference.load_targets, body["rows"], args["dry_run"])
