"""The dashboard in a real browser (Debian's chromium driven by Playwright) against the real
app, served over HTTP, on the real PostgreSQL: the figures shown equal the reporting API's,
drill-down works, the language switch works. A screenshot goes to test-artifacts/."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import psycopg
import pytest

from dashboard_browser import NEEDS_CHROMIUM, dashboard, en_percent, figures, served, table, vi_number, vi_percent, wait_until
from dashboard_seed import SA_DEC, WITHOUT_ANYTHING, WITHOUT_BHYT_KHAC, WITHOUT_DENOMINATORS, seed
from service.domain import access
from service.adapters.postgres import tokens as token_store
from service.domain.reporting import PERIOD_TYPES, REPORT_SCHEMES

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

pytestmark = [pytest.mark.integration, NEEDS_CHROMIUM]


@pytest.fixture
def site(settings):
    last_month = seed(settings.database_url)
    with psycopg.connect(settings.database_url) as conn:
        _, token = token_store.issue(conn, access.REPORTING, None, "dashboard test")
    with served(settings, token, f"{last_month:%Y-%m}") as site:
        yield site


@pytest.fixture
def page(browser, site):
    with dashboard(browser, site, site.token, f"VN@{site.period}", accept_downloads=True) as page:
        yield page


def test_figures_shown_equal_the_api(page, site):
    shown = table(page)
    expected = site.coverage(locality="VN") | site.coverage(parent="VN")
    assert set(shown) == set(expected)
    plan = {(p["locality_code"], p["subject"]): p
            for p in site.api("plan", within="VN", year=site.period[:4], basis="active", page_size=1000)["items"]}
    for key, item in expected.items():
        cells = shown[key]
        assert cells["active"] == vi_number(item["active"]), key
        assert cells["denominator"] == vi_number(item["denominator"]), key
        assert cells["coverage"] == vi_percent(item["coverage_pct"]), key
        if key in plan:
            assert cells["target"] == vi_percent(plan[key]["target_rate_pct"]), key
            assert cells["attainment"] == vi_percent(plan[key]["attainment_pct"]), key
        else:
            assert cells["target"] == "–"

    # The bars carry the same rates, and the target marker where a target exists.
    bars = page.eval_on_selector_all("#coverage-own g.row", "gs => gs.map(g => [g.dataset.key, g.dataset.rate, g.dataset.target])")
    for scheme, rate, target in bars:
        assert float(rate) == pytest.approx(expected[("VN", scheme)]["coverage_pct"] / 100)
        assert (target != "") == (("VN", scheme) in plan)

    # The trend: 24 months of the chosen scheme, equal to the API's series.
    series = site.api("trend", locality="VN", scheme="BHXH_BB", end=site.period, months=24)["items"]
    dots = page.eval_on_selector_all("#trend-chart circle", "cs => cs.map(c => [c.dataset.period, Number(c.dataset.active)])")
    assert dots == [[i["period"], i["active"]] for i in series] and len(dots) == 24
    withdrawals = page.eval_on_selector_all("#trend-chart rect.bar-withdrawn", "rs => rs.map(r => Number(r.dataset.withdrawals))")
    assert withdrawals == [i["withdrawals"] for i in series]

    # Outreach of the month, all campaigns.
    out = site.api("outreach", locality="VN", period=site.period, campaign="*")["items"][0]
    outreach = figures(page, "#outreach")
    assert out["conferences"] > 0
    assert outreach["conferences"] == vi_number(out["conferences"])
    assert outreach["attendees"] == vi_number(out["attendees"])
    assert outreach["campaignEnrolments"] == vi_number(out["enrolments"])
    assert outreach["enrolmentsPerConference"] == vi_percent(out["enrolments_per_conference"]).removesuffix("\u00a0%")
    assert outreach["costVnd"] == vi_number(out["cost_vnd"])


def test_drill_down_to_communes_and_back(page, site):
    page.click('#coverage-children g.row[data-key="82"] text[role=link]')
    page.wait_for_selector(f'body[data-loaded="82@{site.period}"]')
    assert page.inner_text("#crumbs").replace("\n", "") == "Việt Nam › Đồng Tháp"
    children = page.eval_on_selector_all("#coverage-children g.row", "gs => gs.map(g => g.dataset.key)")
    assert sorted(children) == ["28249", "28261"]
    assert page.locator("#coverage-children text[role=link]").count() == 0  # communes are leaves

    # The article's figures (Sa Đéc): 12,844 of 14,549 in scope = 88.28 %, target 60 %.
    row = table(page)[(SA_DEC, "BHXH_BB")]
    assert (row["active"], row["denominator"], row["coverage"], row["target"]) == ("12.844", "14.549", "88,28\u00a0%", "60,00\u00a0%")
    assert table(page).keys() == (site.coverage(locality="82") | site.coverage(parent="82")).keys()

    # A child with neither figures nor denominators is left out of the chart, and the hint says so.
    assert WITHOUT_ANYTHING not in children
    assert page.inner_text("#children-without-data") == "1 đơn vị chưa có số liệu không hiển thị."
    # A child where nobody is active in the scheme but with a denominator is shown at 0 %.
    page.click('#scheme-tabs button[data-scheme="BHYT_KHAC"]')
    page.wait_for_selector('#scheme-tabs button[data-scheme="BHYT_KHAC"][aria-selected="true"]')
    children = page.eval_on_selector_all("#coverage-children g.row", "gs => gs.map(g => g.dataset.key)")
    assert sorted(children) == sorted([SA_DEC, WITHOUT_BHYT_KHAC])
    zero = page.locator(f'#coverage-children g.row[data-key="{WITHOUT_BHYT_KHAC}"] text.value').text_content()
    assert zero == vi_percent(0)
    assert page.inner_text("#children-without-data") == "1 đơn vị chưa có số liệu không hiển thị."

    page.click('#crumbs a[data-code="VN"]')
    page.wait_for_selector(f'body[data-loaded="VN@{site.period}"]')
    assert page.inner_text("#crumbs") == "Việt Nam"


def test_a_locality_without_denominator_shows_its_participants(page, site):
    page.click('#coverage-children g.row[data-key="01"] text[role=link]')
    page.wait_for_selector(f'body[data-loaded="01@{site.period}"]')
    item = site.coverage(parent="01")[(WITHOUT_DENOMINATORS, "BHXH_BB")]
    assert item["denominator"] is None and item["coverage_pct"] is None
    bar = page.locator(f'#coverage-children g.row[data-key="{WITHOUT_DENOMINATORS}"]')
    assert bar.locator("rect").count() == 0
    assert bar.locator("text.value").text_content() == f"{vi_number(item['active'])} người"
    row = table(page)[(WITHOUT_DENOMINATORS, "BHXH_BB")]
    assert (row["active"], row["denominator"], row["coverage"]) == (vi_number(item["active"]), "–", "–")


def test_language_switch_changes_labels_and_number_format(page, site):
    assert page.inner_text("h1") == "Độ bao phủ BHXH, BHTN, BHYT"
    assert page.inner_text("#figures-table thead th:nth-child(3)") == "Đang tham gia"
    page.click("#lang-en")
    assert page.inner_text("h1") == "Social, unemployment and health insurance coverage"
    assert page.inner_text("#figures-table thead th:nth-child(3)") == "Active participants"
    item = site.coverage(locality="VN")[("VN", "BHXH_BB")]
    row = table(page)[("VN", "BHXH_BB")]
    assert row["active"] == f"{item['active']:,}" and row["coverage"] == en_percent(item["coverage_pct"])
    assert row["scheme"] == "Compulsory SI"
    page.click("#lang-vi")
    assert table(page)[("VN", "BHXH_BB")]["active"] == vi_number(item["active"])

    # Every code the server serves (vocabulary.js) has a label in each language, and the page
    # offers exactly the served schemes and period types.
    unlabelled = page.evaluate("""() => Object.entries(I18N).flatMap(([lang, labels]) =>
        ["schemes", "periodTypes", "sexes", "ageBands"].flatMap(table => VOCABULARY[table]
            .filter(code => !(labels[table] && code in labels[table])).map(code => `${lang}.${table}.${code}`)))""")
    assert unlabelled == []
    assert page.evaluate("() => Object.keys(I18N)") == ["vi", "en"]
    assert page.eval_on_selector_all("#scheme-tabs [data-scheme]", "ts => ts.map(t => t.dataset.scheme)") == list(REPORT_SCHEMES)
    assert page.eval_on_selector_all("#period-type option", "os => os.map(o => o.value)") == list(PERIOD_TYPES)


def test_csv_download_holds_the_table(page, site):
    with page.expect_download() as info:
        page.click("#csv-download")
    text = Path(info.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    expected = site.coverage(locality="VN") | site.coverage(parent="VN")
    assert {(r["locality_code"], r["scheme"]) for r in rows} == set(expected)
    for r in rows:
        item = expected[(r["locality_code"], r["scheme"])]
        assert (r["period_type"], r["period"]) == ("month", site.period)
        assert int(r["active"]) == item["active"] and float(r["coverage_rate"]) == pytest.approx(item["coverage_pct"] / 100)


def test_screenshot_and_bad_token(browser, page, site):
    page.click('#scheme-tabs button[data-scheme="BHXH"]')
    wait_until(page, "document.querySelector('#trend-chart circle') !== null")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    assert (ARTIFACTS / "dashboard.png").stat().st_size > 10_000

    other = browser.new_page()
    other.goto(f"{site.base_url}/dashboard/")
    other.fill("#token-input", "enr_not-a-token")
    other.click("#login-form button[type=submit]")
    other.wait_for_selector("#login-error:not(:empty)")
    assert other.is_visible("#login") and not other.is_visible("#app")
    other.close()
