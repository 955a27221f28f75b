"""The demo data set: events that reproduce the situations of the articles (pure, no I/O; loaded
through the API by `service_layer/demo.py`).

Localities are mapped to today's codes (after the 1 July 2025 reorganisation):
- Sa Đéc (Đồng Tháp) -> Phường Sa Đéc 29905 (province 82): 12,844 BHXH_BB of 14,549 in scope
  (88.28 %, 100 % of plan), 12,530 BHTN of 13,437 in scope (93.25 %, 100 % of plan), 1,359
  BHXH_TN at the end of 2021 = 211.35 % of the 643 at the end of 2019; 4 dialogue conferences
  in 2021 with 1,748 attendees and 100,500,000 VND.
- Bắc Giang -> its communes, today in Bắc Ninh (province 24), at 1/20 scale: 2,208 BHXH_TN and
  15,984 BHXH_BB at the end of 05/2023 against a labour force of 48,000: BHXH_TN 4.60 %,
  BHXH 37.90 %; 1,145 new BHXH_TN participants Jan-May 2023, 7.90 x the 145 of Jan-May 2020,
  and 50 re-activations (lapsed 06/2022, back 03/2023).
- Huế (province 46): 813 lump-sum withdrawals in 01/2024 and 900 in 02/2024 (+10.70 %).
- Đông Hòa (Phú Yên) -> Phường Đông Hòa 22258 (province 66): 4 conferences in Feb-Mar 2023
  produced 79 participants (30 BHXH_TN, 49 BHYT_HGD) named by the campaign; plan 2023: 20
  conferences, 144 new BHXH_TN, 498 new BHYT_HGD.

Every event id is a UUID5 of its position: loading twice posts the same ids (duplicates count
once downstream).
"""
from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

VN_TZ = timezone(timedelta(hours=7))
NAMESPACE = uuid.UUID("6f1d0c1e-3a52-4a0e-9a57-2d6c1f0e4b11")

SA_DEC = "29905"
DONG_HOA = "22258"
HUE_COMMUNES = ("19786", "19768")
# Communes of the former Bắc Giang province, today in Bắc Ninh (24).
BAC_GIANG_COMMUNES = (
    "07627", "07615", "07616", "07672", "07642", "07654", "07621", "07573", "07582", "07594",
    "07543", "07531", "07537", "07534", "07603", "07552", "07525", "07612", "07492", "07489",
)
DONG_HOA_CAMPAIGN = "doi-thoai-dong-hoa-2023"
REACTIVATED = 50  # Bắc Giang BHXH_TN participants lapsed in 06/2022 and re-activated in 03/2023


@dataclass(frozen=True)
class DemoAgent:
    agent_id: str
    name: str
    channel: str
    provinces: tuple[str, ...]


AGENTS = (
    DemoAgent("demo-dt-employers", "Đơn vị sử dụng lao động, Sa Đéc (demo)", "employer", ("82",)),
    DemoAgent("demo-dt-post", "Bưu điện Sa Đéc (demo)", "post_office", ("82",)),
    DemoAgent("demo-dt-office", "BHXH Sa Đéc (demo)", "social_insurance_office", ("82",)),
    DemoAgent("demo-bg-employers", "Đơn vị sử dụng lao động, Bắc Giang (demo)", "employer", ("24",)),
    DemoAgent("demo-bg-post", "Bưu điện Bắc Giang (demo)", "post_office", ("24",)),
    DemoAgent("demo-hue-office", "BHXH tỉnh Huế (demo)", "social_insurance_office", ("46",)),
    DemoAgent("demo-dh-collector", "Tổ chức dịch vụ thu Đông Hòa (demo)", "collection_organisation", ("66",)),
)


@dataclass(frozen=True)
class DemoEvent:
    agent_id: str
    body: dict


class _Builder:
    def __init__(self, seed: int = 2026):
        self.rng = random.Random(seed)
        self.serial = 0
        self.events: list[DemoEvent] = []

    def person(self, birth_province: str) -> dict:
        """A participant with a well-formed 12-digit personal id (sex and birth year encoded)."""
        self.serial += 1
        year = self.rng.randint(1965, 2004)
        female = self.rng.random() < 0.48
        century_sex = (0 if year < 2000 else 2) + (1 if female else 0)
        return {"personal_id": f"{birth_province}{century_sex}{year % 100:02d}{self.serial:06d}"}

    def moment(self, year: int, month: int) -> str:
        day = self.rng.randint(1, 28)
        at = datetime(year, month, day, self.rng.randint(7, 17), self.rng.randint(0, 59), tzinfo=VN_TZ)
        return at.isoformat()

    def add(self, agent_id: str, body: dict) -> None:
        body = {"event_id": str(uuid.uuid5(NAMESPACE, f"demo-{len(self.events)}")), **body}
        self.events.append(DemoEvent(agent_id, body))

    def enrol(self, agent_id: str, kind: str, scheme: str, locality: str, participant: dict,
              year: int, month: int, campaign: str | None = None, contribution: dict | None = None) -> None:
        body = {"kind": kind, "occurred_at": self.moment(year, month), "locality_code": locality,
                "scheme": scheme, "participant": participant}
        if campaign:
            body["campaign"] = campaign
        if contribution:
            body["contribution"] = contribution
        self.add(agent_id, body)

    def conference(self, agent_id: str, locality: str, year: int, month: int, attendees: int, cost_vnd: int,
                   organiser: str, campaign: str | None = None) -> None:
        body = {"kind": "conference_held", "occurred_at": self.moment(year, month), "locality_code": locality,
                "conference": {"attendees": attendees, "cost_vnd": cost_vnd, "organiser": organiser}}
        if campaign:
            body["campaign"] = campaign
        self.add(agent_id, body)


def _months(first: tuple[int, int], last: tuple[int, int]) -> list[tuple[int, int]]:
    (y, m), out = first, []
    while (y, m) <= last:
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _spread(b: _Builder, count: int, first: tuple[int, int], last: tuple[int, int]) -> Iterator[tuple[int, int]]:
    months = _months(first, last)
    for i in range(count):
        yield months[i * len(months) // count]


def _sa_dec(b: _Builder) -> None:
    employees = [b.person("087") for _ in range(12_844)]
    wage = {"months": 1, "amount_vnd": 1_500_000}
    for person, (y, m) in zip(employees, _spread(b, 12_844, (2019, 1), (2021, 12))):
        b.enrol("demo-dt-employers", "registered", "BHXH_BB", SA_DEC, person, y, m, contribution=wage)
    for person, (y, m) in zip(employees[:12_530], _spread(b, 12_530, (2019, 1), (2021, 12))):
        b.enrol("demo-dt-employers", "registered", "BHTN", SA_DEC, person, y, m)
    for _, (y, m) in zip(range(643), _spread(b, 643, (2019, 1), (2019, 12))):
        b.enrol("demo-dt-post", "registered", "BHXH_TN", SA_DEC, b.person("087"), y, m)
    for _, (y, m) in zip(range(716), _spread(b, 716, (2020, 1), (2021, 12))):
        b.enrol("demo-dt-post", "registered", "BHXH_TN", SA_DEC, b.person("087"), y, m)
    for quarter_month in (2, 5, 8, 11):
        b.conference("demo-dt-office", SA_DEC, 2021, quarter_month, 437, 25_125_000, "BHXH thành phố Sa Đéc")


def _bac_giang(b: _Builder) -> None:
    def commune(i: int) -> str:
        return BAC_GIANG_COMMUNES[i % len(BAC_GIANG_COMMUNES)]

    for i, (y, m) in enumerate(_spread(b, 15_984, (2018, 1), (2023, 5))):
        b.enrol("demo-bg-employers", "registered", "BHXH_BB", commune(i), b.person("024"), y, m)
    voluntary = (
        [(145, (2020, 1), (2020, 5))]  # Jan-May 2020: the base of "nearly 8 x"
        + [(918, (2020, 6), (2022, 12))]
        + [(1_145, (2023, 1), (2023, 5))]  # Jan-May 2023 ("Đợt cao điểm")
    )
    i, early = 0, []
    for count, first, last in voluntary:
        for y, m in _spread(b, count, first, last):
            campaign = "thang-cao-diem-2023" if y == 2023 else None
            person = b.person("024")
            b.enrol("demo-bg-post", "registered", "BHXH_TN", commune(i), person, y, m, campaign=campaign)
            if y == 2020:
                early.append((commune(i), person))
            i += 1
    # 50 of the 2020 participants stop paying in 2022 and are won back in March 2023:
    # re-activations, not new participants.
    for locality, person in early[:REACTIVATED]:
        b.enrol("demo-bg-post", "lapsed", "BHXH_TN", locality, person, 2022, 6)
        b.enrol("demo-bg-post", "registered", "BHXH_TN", locality, person, 2023, 3)


def _hue(b: _Builder) -> None:
    people = [b.person("046") for _ in range(813 + 900)]
    for i, person in enumerate(people):
        y, m = (2023, 1 + i % 12)
        b.enrol("demo-hue-office", "registered", "BHXH_BB", HUE_COMMUNES[i % 2], person, y, m)
    for i, person in enumerate(people):
        month = 1 if i < 813 else 2
        b.enrol("demo-hue-office", "withdrawn", "BHXH_BB", HUE_COMMUNES[i % 2], person, 2024, month)


def _dong_hoa(b: _Builder) -> None:
    for month in (2, 2, 3, 3):
        b.conference("demo-dh-collector", DONG_HOA, 2023, month, 55, 4_500_000,
                     "BHXH thị xã Đông Hòa, UB MTTQ", campaign=DONG_HOA_CAMPAIGN)
    for i in range(79):
        scheme = "BHXH_TN" if i < 30 else "BHYT_HGD"
        b.enrol("demo-dh-collector", "registered", scheme, DONG_HOA, b.person("054"), 2023, 2 + i % 2,
                campaign=DONG_HOA_CAMPAIGN)


def demo_events(seed: int = 2026) -> list[DemoEvent]:
    """All demo events, deterministic for a seed (about 53,000)."""
    b = _Builder(seed)
    for scenario in (_sa_dec, _bac_giang, _hue, _dong_hoa):
        scenario(b)
    return b.events
