"""A deliberately simple reference for the figures: replay every participant month by month.

Nothing here is shared with the service's code except the event types and `reporting_month`.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date

from service.domain.identity import decode_personal_id
from service.domain.model import ConferenceEvent, EnrolmentEvent, RetractionEvent, reporting_month


def _people(events: list[EnrolmentEvent]) -> list[set[str]]:
    """Groups of identifiers, merged until no event links two groups (naive fixpoint)."""
    groups: list[set[str]] = []
    for e in events:
        ids = {x for x in (e.participant.personal_id and "p" + e.participant.personal_id,
                           e.participant.si_number and "s" + e.participant.si_number) if x}
        touching = [g for g in groups if g & ids]
        merged = set(ids).union(*touching)
        groups = [g for g in groups if not (g & ids)] + [merged]
    return groups


def _months(first: date, last: date) -> list[date]:
    out, m = [], first
    while m <= last:
        out.append(m)
        m = date(m.year + m.month // 12, m.month % 12 + 1, 1)
    return out


def without_retracted(events, parents: dict[str, str] | None = None) -> list:
    """The events minus retractions and what they rightly retract: the sending agent's own
    events, or events anywhere under a supervisor's provinces (`parents`: code -> parent)."""
    by_id = {e.event_id: e for e in events}
    gone = set()
    for r in by_id.values():
        if not isinstance(r, RetractionEvent) or r.retracts not in by_id:
            continue
        target = by_id[r.retracts]
        if isinstance(target, RetractionEvent):
            continue
        if r.retractor.agent is not None:
            allowed = r.retractor.agent.agent_id == target.agent.agent_id
        else:
            code, allowed = target.locality_code, False
            while code is not None and not allowed:
                allowed = code in r.retractor.provinces
                code = (parents or {}).get(code)
        if allowed:
            gone.add(r.retracts)
    return [e for e in by_id.values() if not isinstance(e, RetractionEvent) and e.event_id not in gone]


def reference(events, months: list[date], parents: dict[str, str] | None = None) -> dict:
    unique = without_retracted(events, parents)
    enrolments = [e for e in unique if isinstance(e, EnrolmentEvent)]
    result = {"active": Counter(), "active_by_person": Counter(), "flows": defaultdict(Counter),
              "outreach": Counter()}
    for group in _people(enrolments):
        mine = [e for e in enrolments
                if ("p" + (e.participant.personal_id or "")) in group or ("s" + (e.participant.si_number or "")) in group]
        mine.sort(key=lambda e: (e.occurred_at, e.event_id))
        sex, birth_year = "unknown", 0
        for e in mine:  # the latest event carrying a value wins
            p = e.participant
            decoded = decode_personal_id(p.personal_id) if p.personal_id else None
            if p.sex or decoded:
                sex = (p.sex or decoded.sex).value
            if p.birth_year or decoded:
                birth_year = p.birth_year or decoded.birth_year
        for scheme in {e.scheme.value for e in mine}:
            history = [e for e in mine if e.scheme.value == scheme]
            for month in months:  # state at the end of each month: the last event up to then
                upto = [e for e in history if reporting_month(e.occurred_at) <= month]
                if upto and upto[-1].kind.activates:
                    result["active"][(upto[-1].locality_code, scheme, month)] += 1
                    result["active_by_person"][(upto[-1].locality_code, scheme, month, sex, birth_year)] += 1
            for i, e in enumerate(history):
                before = history[:i]
                was_active = bool(before) and before[-1].kind.activates
                ever = any(b.kind.activates for b in before)
                f = result["flows"][(e.locality_code, scheme, reporting_month(e.occurred_at), e.agent.channel.value, e.agent.agent_id)]
                if e.kind.activates and not was_active:
                    f["reactivations" if ever else "new_participants"] += 1
                    f["campaign_enrolments"] += 1 if e.campaign else 0
                f["renewals"] += e.kind.value == "renewed" and was_active
                f["lapses"] += e.kind.value == "lapsed" and was_active
                f["withdrawals"] += e.kind.value == "withdrawn"
                if e.contribution:
                    f["contributions"] += 1
                    f["contribution_months"] += e.contribution.months
                    f["contribution_vnd"] += e.contribution.amount_vnd
    for c in unique:
        if isinstance(c, ConferenceEvent):
            result["outreach"][(c.locality_code, reporting_month(c.occurred_at), c.campaign or "")] += c.attendees
    return result


FLOW_NAMES = ("new_participants", "reactivations", "renewals", "lapses", "withdrawals",
              "contributions", "contribution_months", "contribution_vnd", "campaign_enrolments")


def running_stock(changes: dict[tuple, tuple], months: list[date]) -> Counter:
    """Month-end stock per (key with the month replaced) from month-end changes: the running
    sum of deltas over months <= M, as a report reads it."""
    out: Counter = Counter()
    for key, (delta,) in changes.items():
        for month in months:
            if key[2] <= month:
                out[key[:2] + (month,) + key[3:]] += delta
    return +out  # drop zeros


def assert_matches_reference(tables: dict, events, parents: dict[str, str] | None = None) -> None:
    all_months = sorted({reporting_month(e.occurred_at) for e in events})
    months = _months(all_months[0], all_months[-1]) if all_months else []
    ref = reference(events, months, parents)
    assert running_stock(tables["agg_active_changes"], months) == +ref["active"]
    assert running_stock(tables["agg_active_changes_by_person"], months) == +ref["active_by_person"]
    flows = {k: tuple(v[n] for n in FLOW_NAMES) for k, v in ref["flows"].items() if any(v.values())}
    assert tables["agg_flows"] == flows
    assert {k: v[1] for k, v in tables["agg_outreach"].items()} == +ref["outreach"]
