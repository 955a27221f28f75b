"""Test events: a small builder and a hypothesis strategy for random event sets."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from service.domain.model import (
    Agent, Channel, ConferenceEvent, Contribution, EnrolmentEvent, EnrolmentKind, Event, Participant,
    RetractionEvent, RetractionReason, Retractor, Scheme, Sex,
)

AGENTS = [Agent("agent-1", Channel.POST_OFFICE), Agent("agent-2", Channel.COLLECTION_ORGANISATION)]


def enrolment(kind: str, when: datetime, *, pid: str | None = None, sin: str | None = None,
              scheme: str = "BHXH_BB", locality: str = "87001", agent: Agent = AGENTS[0],
              money: tuple[int, int] | None = None, campaign: str | None = None,
              event_id: uuid.UUID | None = None, sex=None, birth_year=None) -> EnrolmentEvent:
    return EnrolmentEvent(
        event_id=event_id or uuid.uuid4(),
        kind=EnrolmentKind(kind),
        occurred_at=when,
        locality_code=locality,
        agent=agent,
        scheme=Scheme(scheme),
        participant=Participant(personal_id=pid, si_number=sin, sex=sex, birth_year=birth_year),
        contribution=Contribution(months=money[0], amount_vnd=money[1]) if money else None,
        campaign=campaign,
    )


def conference(when: datetime, *, locality: str = "87001", attendees: int = 50, cost: int = 1_000_000,
               campaign: str | None = None, event_id: uuid.UUID | None = None) -> ConferenceEvent:
    return ConferenceEvent(event_id or uuid.uuid4(), when, locality, AGENTS[0], attendees, cost, "UBND xã", campaign)


def personal_id(n: int) -> str:
    """A valid 12-digit personal id: province 087, male or female by n, born in the 1980s-90s."""
    return f"087{n % 2}{80 + n % 20:02d}{n:06d}"


def si_number(n: int) -> str:
    return f"{n:010d}"


def retraction(target, *, by: Agent | None = None, provinces: frozenset[str] = frozenset(),
               event_id: uuid.UUID | None = None, reason: str = "wrong_person",
               locality: str | None = None) -> RetractionEvent:
    """A retraction of `target` (an event, or an event id) by the agent `by`, else by a
    supervisor of `provinces`."""
    target_id = target if isinstance(target, uuid.UUID) else target.event_id
    when = datetime(2021, 6, 1, tzinfo=UTC) if isinstance(target, uuid.UUID) else target.occurred_at + timedelta(days=3)
    retractor = Retractor(agent=by) if by is not None else Retractor(supervisor_id="token-1", provinces=provinces)
    return RetractionEvent(event_id or uuid.uuid4(), when,
                           locality or (target.locality_code if not isinstance(target, uuid.UUID) else "87001"),
                           retractor, target_id, RetractionReason(reason))


# The test localities' tree: communes 87001-87003 in province 87, 79001 in province 79.
PARENTS = {"87001": "87", "87002": "87", "87003": "87", "79001": "79", "87": "VN", "79": "VN"}


# Moments near month ends in Vietnam time (UTC+7): 16:00–18:00 UTC on the last day crosses
# midnight local, so the reporting month differs from the UTC month.
BASE = datetime(2020, 1, 31, 16, 30, tzinfo=UTC)


@st.composite
def event_sets(draw, max_participants: int = 6, max_events: int = 30, attributes: bool = False):
    """`attributes`: events sometimes state a sex / birth year (possibly contradicting the
    personal id or each other), so a participant's breakdown can change after the fact."""
    n = draw(st.integers(1, max_participants))
    # Each participant has both numbers; an event names pid, sin, or both (the link).
    events = []
    for _ in range(draw(st.integers(1, max_events))):
        who = draw(st.integers(0, n - 1))
        naming = draw(st.sampled_from(["pid", "sin", "both"]))
        when = BASE + timedelta(days=draw(st.integers(0, 200)), minutes=draw(st.sampled_from([0, 45, 60, 61, 600])))
        kind = draw(st.sampled_from(["registered", "renewed", "lapsed", "withdrawn"]))
        money = draw(st.one_of(st.none(), st.tuples(st.sampled_from([1, 3, 6, 12]), st.integers(100_000, 5_000_000)))) \
            if kind in ("registered", "renewed") else None
        events.append(enrolment(
            kind, when,
            pid=personal_id(who) if naming in ("pid", "both") else None,
            sin=si_number(who) if naming in ("sin", "both") else None,
            scheme=draw(st.sampled_from(["BHXH_BB", "BHXH_TN"])),
            locality=draw(st.sampled_from(["87001", "87002", "87003"])),
            agent=draw(st.sampled_from(AGENTS)),
            money=money,
            campaign=draw(st.sampled_from([None, None, "thang-cao-diem"])),
            event_id=draw(st.uuids()),
            **(dict(sex=draw(st.sampled_from([None, None, None, Sex.MALE, Sex.FEMALE])),
                    birth_year=draw(st.sampled_from([None, None, None, 1980, 1991])))
               if attributes else {}),
        ))
    for _ in range(draw(st.integers(0, 3))):
        events.append(conference(BASE + timedelta(days=draw(st.integers(0, 200))),
                                 locality=draw(st.sampled_from(["87001", "87002"])),
                                 attendees=draw(st.integers(1, 300)),
                                 campaign=draw(st.sampled_from([None, "thang-cao-diem"])),
                                 event_id=draw(st.uuids())))
    # one event per id: a repeated id is the same event re-sent (the tests add those)
    return list({e.event_id: e for e in events}.values())


ALL_AGENTS = [Agent("agent-1", Channel.POST_OFFICE), Agent("agent-2", Channel.COLLECTION_ORGANISATION),
              Agent("agent-3", Channel.SOCIAL_INSURANCE_OFFICE), Agent("agent-4", Channel.EMPLOYER)]
CAMPAIGNS = [None, None, None, "thang-cao-diem", "dot-cao-diem"]


def random_history(rng, *, people: int, communes: list[str], start: datetime, months: int,
                   agents: list[Agent] = ALL_AGENTS, conferences: int = 10) -> list[Event]:
    """A plausible random event set (deterministic for a seeded `rng`): each person joins one to
    three of the five schemes and then renews, lapses, withdraws, re-joins or moves commune at
    increasing moments (some at month ends in Vietnam time), named by personal id, SI number or
    both (the link), through any agent; contributions, campaigns, sex / birth year where no
    personal id states them; and conferences. Every event would be accepted by the API."""
    span = timedelta(days=30 * months)
    events: list[Event] = []
    for n in range(people):
        facts = {"sex": Sex.MALE if n % 2 == 0 else Sex.FEMALE, "birth_year": 1980 + n % 20}  # as personal_id(n)
        home = rng.choice(communes)
        for scheme in rng.sample(list(Scheme), k=rng.choice([1, 1, 2, 3])):
            when = start + timedelta(days=rng.randrange(span.days))
            kinds = ["registered"] + rng.choices(["renewed", "renewed", "lapsed", "withdrawn", "registered"],
                                                 k=rng.randrange(5))
            for kind in kinds:
                naming = rng.choice(["pid", "sin", "both"])
                if rng.random() < 0.15:
                    home = rng.choice(communes)  # moved
                money = ((m := rng.choice([1, 3, 6, 12])), m * 500_000) \
                    if kind in ("registered", "renewed") and rng.random() < 0.6 else None
                events.append(enrolment(
                    kind, when, scheme=scheme.value, locality=home, agent=rng.choice(agents), money=money,
                    pid=personal_id(n) if naming != "sin" else None,
                    sin=si_number(n) if naming != "pid" else None,
                    campaign=rng.choice(CAMPAIGNS) if kind == "registered" else None,
                    **(facts if naming == "sin" and rng.random() < 0.5 else {}),
                ))
                when += rng.choice([timedelta(hours=1), timedelta(days=rng.randrange(1, 120))])
                if rng.random() < 0.2:  # to the evening of the month's last day: the next month in Vietnam
                    when = (when.replace(day=1, hour=17, minute=30) + timedelta(days=32)).replace(day=1) \
                        - timedelta(days=1)
    for _ in range(conferences):
        events.append(conference(start + timedelta(days=rng.randrange(span.days)), locality=rng.choice(communes),
                                 attendees=rng.randrange(1, 400), cost=rng.randrange(1, 50_000_000),
                                 campaign=rng.choice(CAMPAIGNS)))
    return events


@st.composite
def with_retractions(draw, events: list):
    """`events` plus retractions: of some of them by their own agent, by another agent
    (refused), by a supervisor of their province or of another one (refused), twice, of
    unknown ids and of retractions (refused)."""
    out = list(events)
    for _ in range(draw(st.integers(1, 6))):
        target = draw(st.sampled_from(events))
        who = draw(st.sampled_from(["own", "own", "own", "other", "supervisor", "wrong_supervisor", "unknown"]))
        if who == "unknown":
            out.append(retraction(draw(st.uuids()), by=AGENTS[0], event_id=draw(st.uuids())))
            continue
        by = {"own": target.agent, "other": next(a for a in AGENTS if a != target.agent)}.get(who)
        provinces = frozenset({"87"} if who == "supervisor" else {"79"})
        r = retraction(target, by=by, provinces=provinces, event_id=draw(st.uuids()),
                       reason=draw(st.sampled_from(["wrong_person", "did_not_happen", "duplicate_entry"])))
        out.append(r)
        if draw(st.integers(0, 4)) == 0:  # retracted twice, or the retraction itself retracted
            out.append(retraction(draw(st.sampled_from([target, r])), by=AGENTS[0], event_id=draw(st.uuids())))
    return list({e.event_id: e for e in out}.values())
