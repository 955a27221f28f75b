"""A small, known data set for the dashboard's browser tests, written straight into the
aggregate tables (the contract of migration 0003) and the reference tables (0020).

Nation VN > provinces 01 (Hà Nội) and 82 (Đồng Tháp) > two communes each. The last month is
the current month in Asia/Ho_Chi_Minh, so the page's default period shows figures. Phường
Mỹ Tho has the Sa Đéc figures of the articles: 12,844 active in BHXH_BB against 14,549 in
scope (88.28 %). Phường Ba Đình has no denominators; Phường Đạo Thạnh no BHYT_KHAC figures.
Active participants by sex and birth year (BY_PERSON) are set in the first month, a few cells
small enough for small-cell suppression.
"""
from __future__ import annotations

from datetime import date, datetime

import psycopg

from service.adapters.postgres.reference import LocalityRow, load_localities
from service.domain.model import REPORTING_TZ

TREE = [
    LocalityRow("VN", "Việt Nam", "nation", None),
    LocalityRow("01", "Thành phố Hà Nội", "province", "VN"),
    LocalityRow("00070", "Phường Hoàn Kiếm", "commune", "01"),
    LocalityRow("00004", "Phường Ba Đình", "commune", "01"),
    LocalityRow("82", "Đồng Tháp", "province", "VN"),
    LocalityRow("28261", "Phường Mỹ Tho", "commune", "82"),
    LocalityRow("28249", "Phường Đạo Thạnh", "commune", "82"),
    LocalityRow("28252", "Phường Trung An", "commune", "82"),  # no figure, no denominator at all
]
COMMUNES = ["00070", "00004", "28261", "28249"]
SCHEMES = ["BHXH_BB", "BHXH_TN", "BHTN", "BHYT_HGD", "BHYT_KHAC"]
SA_DEC = "28261"
WITHOUT_DENOMINATORS = "00004"  # its rows show active participants, no rate
WITHOUT_BHYT_KHAC = "28249"  # nobody active in that scheme, but a population denominator: 0 %
WITHOUT_ANYTHING = "28252"  # no figure and no denominator: left out of the children chart
# (sex, birth year, active) of every commune in BHXH_BB; 3 and 2 are small cells.
BY_PERSON = [("male", 1990, 40), ("female", 1990, 35), ("male", 1975, 3), ("female", 1975, 25),
             ("female", 1960, 2), ("male", 1960, 12)]


def months_back(count: int) -> list[date]:
    now = datetime.now(REPORTING_TZ)
    out = []
    y, m = now.year, now.month
    for _ in range(count):
        out.append(date(y, m, 1))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return out[::-1]


def seed(database_url: str) -> date:
    """Writes the data set; returns the last month (the page's default period)."""
    load_localities(database_url, TREE)
    months = months_back(24)
    active, flows, outreach, campaigns = [], [], [], []
    for ci, commune in enumerate(COMMUNES):
        for si, scheme in enumerate(SCHEMES):
            if (commune, scheme) == (WITHOUT_BHYT_KHAC, "BHYT_KHAC"):
                continue
            # Month-end stock built up over 24 months: a start value, then monthly net change.
            start = 1000 * (ci + 1) + 100 * si
            if commune == SA_DEC and scheme == "BHXH_BB":
                start = 12_844 - 23 * 40
            for mi, month in enumerate(months):
                new = 40 + 3 * ci + si + (mi % 4) * 5
                withdrawals = 10 + (mi % 3) * 4 + ci
                if commune == SA_DEC and scheme == "BHXH_BB":
                    new, withdrawals = 40 + withdrawals, withdrawals  # net +40 a month
                delta = (start if mi == 0 else 0) + (new - withdrawals if mi else 0)
                active.append((commune, scheme, month, delta))
                flows.append((commune, scheme, month, "post_office", f"agent-{ci}", new, withdrawals))
        for mi, month in enumerate(months):
            if mi % 2 == 1:  # odd months: the last month (index 23) has conferences
                outreach.append((commune, month, "Tháng cao điểm", 1 + ci % 2, 120 + 10 * ci + mi, 25_000_000))
                campaigns.append((commune, "BHXH_TN", month, "Tháng cao điểm", 15 + ci, 2))
    by_person = [(commune, "BHXH_BB", months[0], sex, birth_year, active)
                 for commune in COMMUNES for sex, birth_year, active in BY_PERSON]
    with psycopg.connect(database_url) as conn, conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO agg_active_changes_by_person (locality_code, scheme, month, sex, birth_year, delta)"
            " VALUES (%s, %s, %s, %s, %s, %s)", by_person)
        cur.executemany("INSERT INTO agg_active_changes (locality_code, scheme, month, delta) VALUES (%s, %s, %s, %s)", active)
        cur.executemany(
            "INSERT INTO agg_flows (locality_code, scheme, month, channel, agent_id, new_participants, withdrawals)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)", flows)
        cur.executemany(
            "INSERT INTO agg_outreach (locality_code, month, campaign, conferences, attendees, cost_vnd)"
            " VALUES (%s, %s, %s, %s, %s, %s)", outreach)
        cur.executemany(
            "INSERT INTO agg_campaign_enrolments (locality_code, scheme, month, campaign, new_participants, reactivations)"
            " VALUES (%s, %s, %s, %s, %s, %s)", campaigns)
        year = months[-1].year
        denominators = [(SA_DEC, year, "in_scope_bhxh_bb", 14_549)]
        for code in ["VN", "01", "82", *COMMUNES]:
            if code == WITHOUT_DENOMINATORS:
                continue
            scale = {"VN": 8, "01": 3, "82": 5}.get(code, 1)
            denominators += [
                (code, year, "labour_force", 40_000 * scale),
                (code, year, "population", 60_000 * scale),
                (code, year, "in_scope_bhtn", 16_000 * scale),
            ]
            if code != SA_DEC:
                denominators.append((code, year, "in_scope_bhxh_bb", 18_000 * scale))
        cur.executemany("INSERT INTO denominators (locality_code, year, measure, value) VALUES (%s, %s, %s, %s)", denominators)
        cur.executemany(
            "INSERT INTO targets (locality_code, year, subject, basis, target_rate_pct, denominator_measure)"
            " VALUES (%s, %s, %s, 'active', %s, %s)",
            [(code, year, "BHXH_BB", 60, "in_scope_bhxh_bb") for code in ["VN", "01", "82", *COMMUNES] if code != WITHOUT_DENOMINATORS]
            + [(code, year, "BHYT_HGD", 20, "population") for code in ["VN", "01", "82", *COMMUNES] if code != WITHOUT_DENOMINATORS],
        )
    return months[-1]
