"""Report endpoints: JSON (default) or CSV (`Accept: text/csv` or `?format=csv`), paginated.

Every read needs a token of scope `reporting` (`enrolment tokens`), separate from agents';
writing denominators and targets needs one of scope `reference`. A token limited to localities
reads (or writes) only inside them: `reports` enforces that for every query, a locality named
outside them is 403 (`OutOfScope`).
JSON: {"report", "filters", "page", "page_size", "total", "items": [...]}; CSV: the items with
a header row, and the paging in `X-Total-Count`, `X-Page`, `X-Page-Size` headers.
The views translate: the use cases (service_layer/reporting.py) decide defaults, filters and
comparisons, on a store of the report queries on one pooled connection (`Resources.reports`);
reference rows are loaded by `Resources.load_denominators` / `load_targets`.
"""
from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import Response, g, request
from flask_smorest import Blueprint

from ....domain.access import OutOfScope, Scope
from ....domain.model import reporting_month
from ....domain.reporting import NATION_CODE, Page
from ....domain.suppression import SUPPRESSED
from ....service_layer import reporting as use_cases
from ..auth import reference_required, reporting_required
from ..inputs import BodyParser
from ..problems import Problem, violation
from ..resources import LoadRows, current_resources
from . import schemas as s

blp = Blueprint("reports", __name__, url_prefix="/v1/reports",
                description="Coverage reports: stocks, flows, growth, withdrawals, outreach, plan, breakdowns")
blp.ARGUMENTS_PARSER = BodyParser()  # bounded body, JSON nesting and syntax answered as problems
SECURITY: list[dict[str, list[str]]] = [{"bearerAuth": []}]
CSV_NOTE = "JSON by default; CSV with `Accept: text/csv` or `format=csv`."
_CSV_ANSWER = {200: {"content": {"text/csv": {"schema": {"type": "string"}}}}}


def reader_scope() -> Scope:
    """The signed-in token's localities (set by the auth decorators)."""
    return Scope(frozenset(g.principal.localities))


@blp.errorhandler(OutOfScope)
def out_of_scope(error: OutOfScope) -> Response:
    return Problem(403, "Forbidden", str(error), type_="outside-token-localities",
                   errors=[violation(error.parameter, "token_localities", str(error))]).get_response()


@blp.errorhandler(use_cases.UnknownPeriod)
def unknown_period(error: use_cases.UnknownPeriod) -> Response:
    return Problem(422, "Unprocessable Content", errors=[
        violation(error.parameter, "period_format", str(error))]).get_response()


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


def render(name: str, page: Page, args: dict, filters: dict, page_no: int = 1, page_size: int | None = None) -> Response:
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


def this_month() -> date:
    return reporting_month(datetime.now().astimezone())


def _paging(args: dict) -> use_cases.Paging:
    return use_cases.Paging(args["page"], args["page_size"])


def _page(report: str, args: dict) -> tuple[Page, dict]:
    with current_resources().reports() as store:
        return use_cases.report(store, report, args, _paging(args), scope=reader_scope(),
                                this_month=this_month(), token_min_cell_size=g.principal.min_cell_size)


def _periodic_view(report: str, args: dict) -> Response:
    page, filters = _page(report, args)
    return render(report, page, args, filters, args["page"], args["page_size"])


@blp.route("/scope")
@blp.doc(security=SECURITY, description="What the token sees: the whole nation or the roots of its locality subtrees, and the minimum cell size of its breakdowns.")
@reporting_required
@blp.response(200, s.ScopeSchema)
def scope() -> Response:
    principal = g.principal
    with current_resources().reports() as store:
        roots = store.scope_localities(reader_scope())
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


@blp.route("/growth")
@blp.doc(**_report_doc("Active and new participants against the previous period, the same period a year earlier and optionally `base_period`."))
@reporting_required
@blp.arguments(s.GrowthArgs, location="query", unknown=None)  # the schema raises on unknown parameters
@blp.response(200, s.report_page_schema("growth", use_cases.GROWTH_BASE_COLUMNS))
def growth(args: dict) -> Response:
    page, filters = _page("growth", args)
    base = args.get("base_period")
    if base:
        with current_resources().reports() as store:
            use_cases.compare_with_base_period(store, page, filters["period_type"], base)
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
    end = date.fromisoformat(args["end"] + "-01") if args.get("end") else None
    with current_resources().reports() as store:
        page, filters = use_cases.trend(
            store, locality=args.get("locality"), scheme=args["scheme"],
            months=args["months"], end=end, scope=reader_scope(), this_month=this_month(), nation=NATION_CODE)
    return render("trend", page, args, filters, 1, page.total)


@blp.route("/localities")
@blp.doc(**_report_doc("The locality tree for drill-down: `parent` lists its children; no filter lists the roots."))
@reporting_required
@blp.arguments(s.LocalityArgs, location="query", unknown=None)  # the schema raises on unknown parameters
@blp.response(200, s.LOCALITY_PAGE)
def localities(args: dict) -> Response:
    with current_resources().reports() as store:
        page, filters = use_cases.localities(store, args, _paging(args), scope=reader_scope())
    return render("localities", page, args, filters, args["page"], args["page_size"])


def _load(loader: LoadRows, rows: list[dict], dry_run: bool) -> Response:
    """Rows outside the reference token's localities are rejected (207), the others loaded."""
    report = loader(rows, dry_run=dry_run, within=g.principal.localities)
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
    return _load(current_resources().load_denominators, body["rows"], args["dry_run"])


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
    return _load(current_resources().load_targets, body["rows"], args["dry_run"])
