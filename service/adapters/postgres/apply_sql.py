"""The apply's SQL: `sql/aggregates/*.sql` and `sql/retractions/*.sql`, rendered to text once,
on first use, with their shared pieces:

- fragments that several statements share, kept in files of their own: the participant state
  upsert (`state_upsert`), the agg_outreach upsert (`outreach_upsert`), the stock changes of a
  `changes` CTE (`stock_changes`, signed by the timeline's `sign` or by 1), the flow changes of
  a `seq` CTE (`flow_changes`), the dedupe of staged events into a store (`store_new`);
- column lists defined elsewhere: the event store's columns (`staging_rows.EVENT_COLUMNS`), the
  flow columns (`domain.aggregation.FLOWS`), the kinds that make a participant active
  (`domain.model.EnrolmentKind.activates`), the sex of a participant no event gave one
  (`domain.timeline.UNKNOWN_SEX`).

Rendered text, not `psycopg.sql.Composed`: the apply runs these statements thousands of times
a minute, and text is what psycopg sends without composing again.
"""
from __future__ import annotations

from functools import cache
from typing import NamedTuple

from psycopg import sql

from ...domain.aggregation import FLOWS
from ...domain.model import EnrolmentKind
from ...domain.timeline import UNKNOWN_SEX
from . import sql_files
from .locks import take_swap_lock_shared
from .staging_rows import EVENT_COLUMNS


class FlowRule(NamedTuple):
    """How a flow of agg_flows is counted over a `seq` CTE (the events with `active`,
    `was_active` and `ever_active`): sum(sign [* weight]) FILTER (WHERE condition)."""
    type: str  # of its column in the flow_diff temp table
    weight: str | None
    condition: str | None


ACTIVATING = "(" + ", ".join(f"'{k.value}'" for k in EnrolmentKind if k.activates) + ")"
_ENTERS = "active AND NOT was_active"
FLOW_RULES = {
    "new_participants": FlowRule("integer", None, f"{_ENTERS} AND NOT ever_active"),
    "reactivations": FlowRule("integer", None, f"{_ENTERS} AND ever_active"),
    "renewals": FlowRule("integer", None, f"kind = '{EnrolmentKind.RENEWED.value}' AND was_active"),
    "lapses": FlowRule("integer", None, f"kind = '{EnrolmentKind.LAPSED.value}' AND was_active"),
    "withdrawals": FlowRule("integer", None, f"kind = '{EnrolmentKind.WITHDRAWN.value}'"),
    "contributions": FlowRule("integer", None, "contribution_vnd IS NOT NULL"),
    "contribution_months": FlowRule("integer", "contribution_months", "contribution_vnd IS NOT NULL"),
    "contribution_vnd": FlowRule("bigint", "contribution_vnd", None),
    "campaign_enrolments": FlowRule("integer", None, f"{_ENTERS} AND campaign IS NOT NULL"),
}

# The apply's temp tables (created by sql/aggregates/session.sql): an apply inside a caller's
# open transaction (the replay's catch-up under the swap lock) empties them itself, since
# ON COMMIT DELETE ROWS has not yet.
TEMP_TABLES = (
    "staging_events", "staging_conferences", "inserted_events", "inserted_conferences",
    "staging_retractions", "inserted_retractions", "new_events", "prior_state", "rederived",
    "timeline", "stock_diff", "flow_diff",
)


def _flow_sums(sign: str) -> sql.Composable:
    sums = []
    for flow in FLOWS:
        rule = FLOW_RULES[flow]
        summed = f"{sign} * {rule.weight}" if rule.weight else sign
        where = f" FILTER (WHERE {rule.condition})" if rule.condition else ""
        sums.append(sql.SQL(f"coalesce(sum({summed}){where}, 0)"))
    return sql.SQL(", ").join(sums)


def _joined(template: str, separator: str = ", ") -> sql.Composable:
    """`template` ({c}: a flow column) for each of FLOWS, joined."""
    return sql.SQL(separator).join(sql.SQL(template).format(c=sql.Identifier(c)) for c in FLOWS)


@cache
def _pieces() -> dict[str, sql.Composable]:
    fragment = sql_files.composed
    return {
        "activating": sql.SQL(ACTIVATING),
        "event_columns": sql.SQL(", ").join(map(sql.Identifier, EVENT_COLUMNS)),
        "take_swap_lock_shared": sql.SQL(take_swap_lock_shared()),
        "unknown_sex": sql.Literal(UNKNOWN_SEX),
        "flow_columns": sql.SQL(", ").join(sql.SQL(f"{{}} {FLOW_RULES[c].type}").format(sql.Identifier(c))
                                           for c in FLOWS),
        "state_upsert": fragment("aggregates", "state_upsert"),
        "outreach_upsert": fragment("aggregates", "outreach_upsert"),
        "rederived_stock_changes": fragment("aggregates", "stock_changes", sign=sql.SQL("sign")),
        "appended_stock_changes": fragment("aggregates", "stock_changes", sign=sql.SQL("1")),
        "rederived_flow_changes": fragment("aggregates", "flow_changes", flow_sums=_flow_sums("sign")),
        "appended_flow_changes": fragment("aggregates", "flow_changes", flow_sums=_flow_sums("1")),
        "flows": _joined("{c}"),
        "summed_flows": _joined("sum({c}) AS {c}"),
        "any_flow": _joined("{c} <> 0", " OR "),
        "added_flows": _joined("{c} = agg_flows.{c} + EXCLUDED.{c}"),
    }


def render(module: str, name: str, /, **pieces: sql.Composable) -> str:
    """`sql/<module>/<name>.sql` as text, its placeholders filled by the shared pieces and `pieces`."""
    return sql_files.composed(module, name, **_pieces(), **pieces).as_string(None)


@cache
def statement(module: str, name: str, /) -> str:
    """`sql/<module>/<name>.sql` with the shared pieces, rendered once."""
    return render(module, name)


@cache
def store_new(store: str, staging: str, inserted: str) -> str:
    """Store the rows of `staging` new to `store` (dedupe by event_id) and copy them to `inserted`."""
    return render("aggregates", "store_new", store=sql.Identifier(store), staging=sql.Identifier(staging),
                  inserted=sql.Identifier(inserted))


@cache
def conflicts(staging: str, store: str) -> str:
    """The rows of `staging` whose event_id `store` holds with another content digest."""
    return render("aggregates", "conflicts", staging=sql.Identifier(staging), store=sql.Identifier(store))


@cache
def copy_in(table: str, columns: tuple[str, ...], binary: bool) -> str:
    """COPY into `table`'s `columns` from the client, in the binary format or as text."""
    pieces = {"table": sql.Identifier(table), "columns": sql.SQL(", ").join(map(sql.Identifier, columns))}
    if binary:
        return render("aggregates", "copy_in_binary", **pieces)
    return render("aggregates", "copy_in", **pieces)


@cache
def clear_temp() -> str:
    """Empty every temp table of the apply (one string of statements)."""
    return sql.SQL("; ").join(sql_files.composed("aggregates", "clear_temp", table=sql.Identifier(t))
                              for t in TEMP_TABLES).as_string(None)
