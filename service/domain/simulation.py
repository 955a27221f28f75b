"""Realistic agent traffic for the simulator: pure generation, no I/O.

A `TrafficPlan` turns a seeded random generator into the requests many collection agents'
apps would send: single events posted as they happen, offline bursts synced later through the
batch endpoint (some of them weeks late), retries of an earlier request with the same
`event_id`s (the app timed out and tries again), and a few invalid events, each labelled with
the rule it breaks so the summary can set what the API said beside what was meant.

Participants follow a plausible lifecycle per agent: registered first, then renewed, lapsed
or withdrawn; personal ids encode the sex and birth year the event states (digit 4: 0/1
male/female born 1900-1999, 2/3 born 2000-2099; digits 5-6: the year).
"""
from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .model import CONFERENCE_HELD, Channel, EnrolmentKind, Scheme

POVERTY_LINE_VND = 1_500_000  # rural poverty line, a month, through 2026
VOLUNTARY_RATE = 0.22
SUPPORT_SHARE = {"poor": 0.50, "near_poor": 0.40, "ethnic_minority": 0.30, "other": 0.20}
VOLUNTARY_MONTHS = (1, 3, 6, 12)
HOUSEHOLD_HEALTH_YEARLY_VND = 1_263_600  # 4.5 % of 2,340,000 × 12, first household member
MAX_KNOWN_PEOPLE = 2000  # per agent and per (agent, scheme): bounded memory and O(1) picks
CAMPAIGNS = ("Tháng cao điểm", "Đợt cao điểm", "Tuần lễ BHXH")
ORGANISERS = ("BHXH tỉnh", "UBND xã", "Bưu điện", "Hội Nông dân", "Đoàn Thanh niên")

# Invalid events the simulator sends on purpose, by the rule each one breaks.
INVALID_RULES = (
    "locality_code",  # not a 5-digit code
    "personal_id",  # 11 digits
    "contribution",  # a contribution on a `lapsed` event
    "occurred_at",  # in the future
    "unknown_field",  # a field the contract does not know
    "chosen_income_vnd",  # voluntary income below the poverty line
)


@dataclass(frozen=True)
class SimAgent:
    """One simulated collection agent: its id, token, channel and the communes it covers."""

    agent_id: str
    token: str
    channel: Channel
    communes: tuple[str, ...]


@dataclass(frozen=True)
class PlannedRequest:
    """One HTTP request to make: a single event or a batch, as one agent."""

    agent: SimAgent
    events: tuple[dict, ...]
    batch: bool
    retry: bool = False  # the same event_ids were sent before
    late: int = 0  # events whose occurred_at is more than a week before now
    invalid: tuple[str, ...] = ()  # rules the planned invalid events break, one per event


@dataclass
class _Person:
    personal_id: str | None
    si_number: str | None
    sex: str
    birth_year: int
    commune: str
    active: dict[str, bool] = field(default_factory=dict)  # scheme -> active


@dataclass(frozen=True)
class TrafficMix:
    """Shares of each kind of request (they need not sum to 1: they are weights)."""

    single: float = 0.70
    batch: float = 0.12
    retry: float = 0.08
    invalid: float = 0.05
    conference: float = 0.05
    batch_size: tuple[int, int] = (20, 120)
    late_share: float = 0.25  # share of a burst's events that are weeks or months late


class TrafficPlan:
    """An endless, reproducible stream of PlannedRequests for `agents`, relative to `now()`."""

    def __init__(
        self,
        agents: Sequence[SimAgent],
        *,
        seed: int = 0,
        mix: TrafficMix = TrafficMix(),
        now=None,
    ):
        if not agents:
            raise ValueError("the simulation needs at least one agent")
        if any(not a.communes for a in agents):
            raise ValueError("every simulated agent needs at least one commune")
        self._agents = list(agents)
        self._rng = random.Random(seed)
        self._mix = mix
        self._now = now or (lambda: datetime.now().astimezone())
        self._people: dict[str, list[_Person]] = {a.agent_id: [] for a in agents}
        self._enrolled: dict[tuple[str, str], list[_Person]] = {}  # (agent, scheme) -> people in it
        self._sent: list[PlannedRequest] = []  # recent valid requests, for retries

    def __iter__(self) -> Iterator[PlannedRequest]:
        return self

    def __next__(self) -> PlannedRequest:
        m = self._mix
        kinds = ("single", "batch", "retry", "invalid", "conference")
        weights = (m.single, m.batch, m.retry if self._sent else 0.0, m.invalid, m.conference)
        kind = self._rng.choices(kinds, weights)[0]
        agent = self._rng.choice(self._agents)
        if kind == "retry":
            return self._retry()
        if kind == "invalid":
            rule = self._rng.choice(INVALID_RULES)
            return PlannedRequest(agent, (self.invalid_event(agent, rule),), batch=False, invalid=(rule,))
        if kind == "conference":
            request = PlannedRequest(agent, (self._conference(agent, self._recent()),), batch=False)
        elif kind == "batch":
            request = self._burst(agent)
        else:
            request = PlannedRequest(agent, (self._enrolment(agent, self._recent()),), batch=False)
        self._remember(request)
        return request

    # -- request kinds -------------------------------------------------------------------

    def _burst(self, agent: SimAgent) -> PlannedRequest:
        """An offline burst: a day or weeks of field work synced at once, oldest first."""
        low, high = self._mix.batch_size
        size = self._rng.randint(low, high)
        late = 0
        moments = []
        for _ in range(size):
            if self._rng.random() < self._mix.late_share:
                moments.append(self._now() - timedelta(days=self._rng.uniform(8, 120)))
                late += 1
            else:
                moments.append(self._now() - timedelta(hours=self._rng.uniform(1, 7 * 24)))
        moments.sort()
        events = tuple(
            self._conference(agent, t) if self._rng.random() < 0.02 else self._enrolment(agent, t)
            for t in moments
        )
        return PlannedRequest(agent, events, batch=True, late=late)

    def _retry(self) -> PlannedRequest:
        earlier = self._rng.choice(self._sent)
        return PlannedRequest(earlier.agent, earlier.events, batch=earlier.batch, retry=True, late=earlier.late)

    def _remember(self, request: PlannedRequest) -> None:
        self._sent.append(request)
        if len(self._sent) > 200:
            del self._sent[: len(self._sent) - 200]

    def _recent(self) -> datetime:
        return self._now() - timedelta(seconds=self._rng.uniform(0, 3600))

    # -- events --------------------------------------------------------------------------

    def _base(self, agent: SimAgent, kind: str, moment: datetime, commune: str) -> dict:
        return {
            "event_id": str(uuid.UUID(int=self._rng.getrandbits(128), version=4)),
            "kind": kind,
            "occurred_at": moment.isoformat(timespec="seconds"),
            "locality_code": commune,
        }

    def _enrolment(self, agent: SimAgent, moment: datetime) -> dict:
        people = self._people[agent.agent_id]
        scheme = self._pick_scheme()
        enrolled = self._enrolled.setdefault((agent.agent_id, scheme.value), [])
        roll = self._rng.random()
        if not enrolled or roll < 0.45:
            person = self._new_person(agent) if not people or self._rng.random() < 0.8 else self._rng.choice(people)
            kind = EnrolmentKind.REGISTERED
            if scheme.value not in person.active:
                self._keep(enrolled, person)
        else:
            person = self._rng.choice(enrolled)
            if not person.active[scheme.value]:
                kind = EnrolmentKind.REGISTERED
            elif roll < 0.80:
                kind = EnrolmentKind.RENEWED
            elif roll < 0.93:
                kind = EnrolmentKind.LAPSED
            else:
                kind = EnrolmentKind.WITHDRAWN if scheme is Scheme.BHXH_TN or scheme is Scheme.BHXH_BB else EnrolmentKind.LAPSED
        person.active[scheme.value] = kind.activates
        event = self._base(agent, kind.value, moment, person.commune)
        event["scheme"] = scheme.value
        event["participant"] = self._participant(person)
        if kind.activates:
            contribution = self._contribution(scheme)
            if contribution:
                event["contribution"] = contribution
            if kind is EnrolmentKind.REGISTERED and self._rng.random() < 0.3:
                event["campaign"] = self._rng.choice(CAMPAIGNS)
        return event

    def _conference(self, agent: SimAgent, moment: datetime) -> dict:
        event = self._base(agent, CONFERENCE_HELD, moment, self._rng.choice(agent.communes))
        event["conference"] = {
            "attendees": self._rng.randint(30, 450),
            "cost_vnd": self._rng.randrange(5_000_000, 40_000_000, 500_000),
            "organiser": self._rng.choice(ORGANISERS),
        }
        if self._rng.random() < 0.7:
            event["campaign"] = self._rng.choice(CAMPAIGNS)
        return event

    def invalid_event(self, agent: SimAgent, rule: str) -> dict:
        """A valid-looking event that breaks exactly `rule`."""
        event = self._enrolment(agent, self._recent())
        if rule == "locality_code":
            event["locality_code"] = event["locality_code"][:4]
        elif rule == "personal_id":
            event["participant"] = {"personal_id": "0" * 11}
        elif rule == "contribution":
            event["kind"] = EnrolmentKind.LAPSED.value
            event["contribution"] = {"months": 1, "amount_vnd": 330_000}
        elif rule == "occurred_at":
            event["occurred_at"] = (self._now() + timedelta(days=2)).isoformat(timespec="seconds")
        elif rule == "unknown_field":
            event["note"] = "not part of the contract"
        elif rule == "chosen_income_vnd":
            event["kind"] = EnrolmentKind.REGISTERED.value
            event["scheme"] = Scheme.BHXH_TN.value
            event["contribution"] = {
                "months": 1,
                "amount_vnd": 220_000,
                "chosen_income_vnd": 1_000_000,
                "support_group": "other",
            }
        else:
            raise ValueError(f"unknown invalid-event rule {rule!r}")
        return event

    # -- parts ---------------------------------------------------------------------------

    def _pick_scheme(self) -> Scheme:
        return self._rng.choices(
            (Scheme.BHXH_BB, Scheme.BHXH_TN, Scheme.BHTN, Scheme.BHYT_HGD, Scheme.BHYT_KHAC),
            (0.30, 0.15, 0.20, 0.20, 0.15),
        )[0]

    def _new_person(self, agent: SimAgent) -> _Person:
        rng = self._rng
        birth_year = rng.randint(1960, 2006)
        sex = rng.choice(("male", "female"))
        century_sex = (0 if birth_year < 2000 else 2) + (sex == "female")
        personal_id = f"{rng.randint(1, 96):03d}{century_sex}{birth_year % 100:02d}{rng.randrange(10**6):06d}"
        si_number = f"{rng.randrange(10**10):010d}"
        roll = rng.random()
        if roll < 0.15:  # an older record known only by its SI number
            ids: tuple[str | None, str | None] = (None, si_number)
        elif roll < 0.45:  # both numbers: the event links them
            ids = (personal_id, si_number)
        else:
            ids = (personal_id, None)
        person = _Person(ids[0], ids[1], sex, birth_year, rng.choice(agent.communes))
        self._keep(self._people[agent.agent_id], person)
        return person

    def _keep(self, pool: list[_Person], person: _Person) -> None:
        """Add to a bounded pool: when full, `person` takes a random member's place."""
        if len(pool) < MAX_KNOWN_PEOPLE:
            pool.append(person)
        else:
            pool[self._rng.randrange(MAX_KNOWN_PEOPLE)] = person

    def _participant(self, person: _Person) -> dict:
        out: dict = {"sex": person.sex, "birth_year": person.birth_year}
        if person.personal_id:
            out["personal_id"] = person.personal_id
        if person.si_number:
            out["si_number"] = person.si_number
        return out

    def _contribution(self, scheme: Scheme) -> dict | None:
        rng = self._rng
        if scheme is Scheme.BHXH_TN:
            income = rng.randrange(POVERTY_LINE_VND, 10_000_000, 50_000)
            months = rng.choice(VOLUNTARY_MONTHS)
            group = rng.choices(list(SUPPORT_SHARE), (0.1, 0.1, 0.1, 0.7))[0]
            monthly = VOLUNTARY_RATE * income - SUPPORT_SHARE[group] * VOLUNTARY_RATE * POVERTY_LINE_VND
            return {
                "months": months,
                "amount_vnd": round(monthly * months),
                "chosen_income_vnd": income,
                "support_group": group,
            }
        if scheme is Scheme.BHYT_HGD:
            return {"months": 12, "amount_vnd": HOUSEHOLD_HEALTH_YEARLY_VND}
        return None
