"""The dashboard for a scoped user, in Debian's chromium against the real app and PostgreSQL:
a province token sees only its area and nothing above it; the period-type switch; the "no
denominator loaded" state; dates in the interface language whatever the browser's locale; the
layout at phone width (390 px), measured and photographed."""
from __future__ import annotations

import re

import psycopg
import pytest

from dashboard_browser import NEEDS_CHROMIUM, dashboard, figures, served, table, vi_number, wait_until
from dashboard_seed import SA_DEC, WITHOUT_DENOMINATORS, seed
from service.domain import access
from service.adapters.postgres import tokens as token_store

pytestmark = [pytest.mark.integration, NEEDS_CHROMIUM]
EN_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
             "October", "November", "December"]
DE_MONTHS = ["Januar", "Februar", "März", "Mai", "Juni", "Juli", "Oktober", "Dezember"]


@pytest.fixture
def site(settings):
    last_month = seed(settings.database_url)
    with psycopg.connect(settings.database_url) as conn:
        _, token = token_store.issue(conn, access.REPORTING, None, "nation")
    with served(settings, token, f"{last_month:%Y-%m}") as site:
        yield site


def shown_keys(page, selector: str) -> list[str]:
    return page.eval_on_selector_all(f"{selector} g.row", "gs => gs.map(g => g.dataset.key)")


def test_a_province_user_sees_only_its_area_and_nothing_above(browser, site):
    token = site.issue("Đồng Tháp office", localities=["82"])
    with dashboard(browser, site, token, f"82@{site.period}") as page:
        assert page.inner_text("#crumbs") == "Đồng Tháp"
        assert page.locator("#crumbs a").count() == 0  # no way up
        assert not page.is_visible("#area-label")  # one area: no area picker
        assert sorted(shown_keys(page, "#coverage-children")) == ["28249", "28261"]
        expected = site.coverage(locality="82") | site.coverage(parent="82")
        shown = table(page)
        assert set(shown) == set(expected) and {code for code, _ in shown} == {"82", "28249", "28261"}
        for key, item in expected.items():
            assert shown[key]["active"] == vi_number(item["active"]), key
        text = page.inner_text("body")
        for elsewhere in ("Việt Nam", "Hà Nội", "Hoàn Kiếm", "Ba Đình"):
            assert elsewhere not in text


def test_a_token_of_several_areas_opens_on_the_first_and_offers_only_those(browser, site):
    token = site.issue("two areas", localities=["01", SA_DEC])
    roots = site.api("scope", token=token)["localities"]
    assert {r["code"] for r in roots} == {"01", SA_DEC}
    with dashboard(browser, site, token, f"{roots[0]['code']}@{site.period}") as page:
        assert page.is_visible("#area-label")
        options = page.eval_on_selector_all("#area option", "os => os.map(o => [o.value, o.textContent])")
        assert options == [[r["code"], r["name"]] for r in roots]
        other = roots[1]
        page.select_option("#area", other["code"])
        page.wait_for_selector(f'body[data-loaded="{other["code"]}@{site.period}"]')
        assert page.inner_text("#crumbs") == other["name"]
        assert "Việt Nam" not in page.inner_text("body")


def test_the_period_type_switch_changes_the_figures(browser, site):
    year, month = map(int, site.period.split("-"))
    quarter = (month - 1) // 3 + 1
    month_outreach = site.api("outreach", locality="VN", period=site.period)["items"][0]
    # what is picked, the period, its months shaded in the trend (up to the latest with figures), its label
    cases = [
        ({"#period-type": "quarter"}, f"{year}-Q{quarter}", (year, 3 * quarter - 2, month), f"Quý {quarter}/{year}"),
        ({"#period-type": "ytd"}, f"{year}-{month:02d}-YTD", (year, 1, month), f"Lũy kế từ đầu năm đến tháng {month} năm {year}"),
        ({"#period-type": "year", "#period-year": str(year - 1)}, f"{year - 1}", (year - 1, 1, 12), f"Năm {year - 1}"),
        ({"#period-type": "quarter", "#period-sub": "6"}, f"{year - 1}-Q2", (year - 1, 4, 6), f"Quý 2/{year - 1}"),
        ({"#period-type": "month", "#period-sub": "5"}, f"{year - 1}-05", (year - 1, 5, 5), f"tháng 5 năm {year - 1}"),
    ]
    with dashboard(browser, site, site.token, f"VN@{site.period}") as page:
        for picks, period, months, label in cases:
            period_type = picks["#period-type"]
            for selector, value in picks.items():
                page.select_option(selector, value)
            page.wait_for_selector(f'body[data-loaded="VN@{period}"]')
            assert page.inner_text(".period-heading .period-label") == label

            outreach = site.api("outreach", locality="VN", period_type=period_type, period=period)["items"]
            conferences = outreach[0]["conferences"] if outreach else 0  # no row: none held
            assert figures(page, "#outreach")["conferences"] == vi_number(conferences), period
            flows = site.api("flows", locality="VN", scheme="BHXH_BB", period_type=period_type, period=period)["items"][0]
            assert figures(page, "#period-flows")["newParticipants"] == vi_number(flows["new_participants"]), period
            coverage = site.coverage(locality="VN", period_type=period_type, period=period)
            assert table(page)[("VN", "BHXH_BB")]["active"] == vi_number(coverage[("VN", "BHXH_BB")]["active"])

            shaded = page.eval_on_selector_all("#trend-chart rect.chosen", "rs => rs.map(r => r.dataset.period)")
            shaded_year, first, last = months
            assert shaded == [f"{shaded_year}-{m:02d}" for m in range(first, last + 1)], period
    # A whole year of campaigns holds more conferences than its last month alone.
    year_outreach = site.api("outreach", locality="VN", period_type="year", period=str(year - 1))["items"][0]
    assert year_outreach["conferences"] > month_outreach["conferences"]


def test_a_slow_answer_to_an_earlier_pick_does_not_overwrite_the_last_pick(browser, site):
    year, month = map(int, site.period.split("-"))
    first_pick = f"{year}-Q{(month - 1) // 3 + 1}"
    held = []
    with dashboard(browser, site, site.token, f"VN@{site.period}") as page:
        # The first pick's flows answer is held back until the later picks are shown.
        page.route(lambda url: "/v1/reports/flows" in url and f"period={first_pick}" in url,
                   lambda route: held.append(route))
        page.select_option("#period-type", "quarter")
        page.select_option("#period-year", str(year - 1))
        page.click('#scheme-tabs button[data-scheme="BHXH_TN"]')
        page.select_option("#period-sub", "9")
        page.wait_for_selector(f'body[data-loaded="VN@{year - 1}-Q3"][data-loaded-scheme="BHXH_TN"]')
        assert len(held) == 1
        with page.expect_response(lambda r: f"period={first_pick}" in r.url and "/flows" in r.url):
            held[0].continue_()
        # The body is read (a resource timing entry), then one task lets the page's promises settle.
        wait_until(page, f"""performance.getEntriesByType('resource')
            .some(e => e.name.includes('/flows') && e.name.includes('period={first_pick}'))""")
        page.evaluate("() => new Promise(done => setTimeout(done, 0))")

        assert page.get_attribute("body", "data-loaded") == f"VN@{year - 1}-Q3"
        flows = site.api("flows", locality="VN", scheme="BHXH_TN", period_type="quarter", period=f"{year - 1}-Q3")["items"][0]
        assert figures(page, "#period-flows")["newParticipants"] == vi_number(flows["new_participants"])
        assert page.inner_text(".period-heading .period-label") == f"Quý 3/{year - 1}"
        assert page.locator('#scheme-tabs button[aria-selected="true"]').get_attribute("data-scheme") == "BHXH_TN"


def test_every_period_the_picker_can_make_is_a_period_of_the_reports(browser, site):
    """periods.js derives the reports' period labels and months from (type, year, month): for
    every choice the picker offers, the label is one of report_periods and its months agree."""
    with psycopg.connect(site.database_url) as conn:
        known = {(t, p): (f"{start:%Y-%m}", f"{end:%Y-%m}") for t, p, start, end in conn.execute(
            "SELECT period_type, period, period_start, period_end FROM report_periods")}
    page = browser.new_page()
    try:
        page.goto(f"{site.base_url}/dashboard/")
        made = page.evaluate("""() => {
          const out = [];
          for (const type of Periods.TYPES) for (let year = 2000; year <= 2060; year++) for (let month = 1; month <= 12; month++) {
            const sel = { type, year, month };
            out.push([type, Periods.key(sel), Periods.firstMonth(sel), Periods.lastMonth(sel)]);
          }
          return out;
        }""")
    finally:
        page.close()
    assert len(made) == 4 * 61 * 12
    for period_type, period, first, last in made:
        assert known.get((period_type, period)) == (first, last), (period_type, period)
    # and every period of the reports is made by some (type, year, month)
    assert {(t, p) for t, p, _, _ in made} == set(known)


def test_no_denominator_loaded_is_said_not_drawn_as_an_empty_chart(browser, site):
    token = site.issue("Ba Đình office", localities=[WITHOUT_DENOMINATORS])
    year = site.period[:4]
    with dashboard(browser, site, token, f"{WITHOUT_DENOMINATORS}@{site.period}") as page:
        assert page.is_visible("#no-denominator") and not page.is_visible("#coverage-own")
        assert page.inner_text("#no-denominator h3") == "Chưa nạp mẫu số"
        text = page.inner_text("#no-denominator-text")
        assert "Phường Ba Đình" in text and year in text
        coverage = site.coverage(locality=WITHOUT_DENOMINATORS)
        assert all(item["denominator"] is None for item in coverage.values())
        shown = figures(page, "#active-without-denominator")
        assert shown == {scheme: vi_number(item["active"]) for (_, scheme), item in coverage.items()}
        page.click("#lang-en")
        assert page.inner_text("#no-denominator h3") == "No denominator loaded"

    # Where the locality has denominators the chart is drawn; a child without them says so.
    with dashboard(browser, site, site.token, f"VN@{site.period}") as page:
        assert not page.is_visible("#no-denominator") and page.is_visible("#coverage-own")
        page.click('#coverage-children g.row[data-key="01"] text[role=link]')
        page.wait_for_selector(f'body[data-loaded="01@{site.period}"]')
        row = page.locator(f'#coverage-children g.row[data-key="{WITHOUT_DENOMINATORS}"]')
        assert row.locator("text.no-denominator").text_content() == "chưa có mẫu số"
        assert row.locator("rect").count() == 0


@pytest.mark.parametrize("browser_locale, interface", [("de-DE", "vi"), ("vi-VN", "en"), ("en-US", "vi")])
def test_dates_follow_the_interface_language_not_the_browser(browser, site, browser_locale, interface):
    year, month = map(int, site.period.split("-"))
    with dashboard(browser, site, site.token, f"VN@{site.period}",
                   locale=browser_locale, timezone_id="Pacific/Honolulu") as page:
        assert page.evaluate("navigator.language") == browser_locale
        if interface == "en":
            page.click("#lang-en")
        label = page.inner_text(".period-heading .period-label")
        options = page.eval_on_selector_all("#period-sub option", "os => os.map(o => o.textContent)")
        axis = page.eval_on_selector_all("#trend-chart text.month", "ts => ts.map(t => t.textContent)")
        if interface == "vi":
            assert label == f"tháng {month} năm {year}"
            assert options == [f"Tháng {m}" for m in range(1, 13)]
            assert axis[-1] == f"thg {month} {year}"
        else:
            assert label == f"{EN_MONTHS[month - 1]} {year}"
            assert options == EN_MONTHS
            assert axis[-1] == f"{'Sept' if month == 9 else EN_MONTHS[month - 1][:3]} {year}"  # ICU's en-GB
        assert page.evaluate("document.documentElement.lang") == interface
        words = set(re.findall(r"\w+", page.inner_text("body")))
        assert not words & set(DE_MONTHS)
        if interface == "vi":
            assert not words & set(EN_MONTHS)


# Layout facts of the page at 390 px: nothing wider than the screen, chart text at its CSS size
# (one SVG unit = one CSS pixel) and inside its chart, the table as cards.
LAYOUT = """() => {
  const wider = [...document.querySelectorAll('body *')].filter(e => {
    const r = e.getBoundingClientRect();
    return r.width > 0 && (r.right > innerWidth + 0.5 || r.left < -0.5);
  }).map(e => e.id || e.className.baseVal || e.className || e.tagName);
  const charts = [...document.querySelectorAll('svg.chart')].filter(s => s.getBoundingClientRect().width > 0).map(s => {
    const box = s.getBoundingClientRect(), vb = s.viewBox.baseVal;
    const scale = box.width / vb.width;
    const texts = [...s.querySelectorAll('text')];
    return {
      id: s.id, width: box.width, height: box.height, scale,
      smallestFont: Math.min(...texts.map(t => parseFloat(getComputedStyle(t).fontSize) * scale)),
      cut: texts.filter(t => { const b = t.getBBox(); return b.x < -1 || b.x + b.width > vb.width + 1; }).map(t => t.textContent),
      overlapping: [...s.querySelectorAll('text.month')].map(t => t.getBBox()).filter((b, i, all) => i && b.x < all[i - 1].x + all[i - 1].width + 4).length,
    };
  });
  const table = document.querySelector('#figures-table');
  const cell = table.querySelector('tbody td[data-col="active"]');
  return {
    documentWidth: document.documentElement.scrollWidth, wider, charts,
    tableFits: table.scrollWidth <= table.parentElement.clientWidth,
    rowDisplay: getComputedStyle(table.querySelector('tbody tr')).display,
    headVisible: getComputedStyle(table.tHead).display !== 'none',
    cellFont: parseFloat(getComputedStyle(cell).fontSize),
    cellHeading: getComputedStyle(cell, '::before').content,
    bodyFont: parseFloat(getComputedStyle(document.body).fontSize),
  };
}"""


def test_phone_width_is_readable(browser, site, tmp_path):
    phone = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
    with dashboard(browser, site, site.token, f"VN@{site.period}", **phone) as page:
        page.click('#coverage-children g.row[data-key="82"] text[role=link]')
        page.wait_for_selector(f'body[data-loaded="82@{site.period}"]')
        layout = page.evaluate(LAYOUT)
        page.screenshot(path=str(tmp_path / "dashboard-390.png"), full_page=True)

        assert layout["documentWidth"] <= 390 and layout["wider"] == []
        assert {c["id"] for c in layout["charts"]} == {"coverage-own", "coverage-children", "trend-chart"}
        for chart in layout["charts"]:
            assert chart["width"] <= 390 - 16, chart
            assert chart["scale"] == pytest.approx(1, abs=0.01), chart
            assert chart["smallestFont"] >= 12, chart
            assert chart["cut"] == [] and chart["overlapping"] == 0, chart
        assert next(c for c in layout["charts"] if c["id"] == "trend-chart")["height"] >= 250
        assert layout["tableFits"] and layout["rowDisplay"] == "block" and not layout["headVisible"]
        assert layout["cellFont"] >= 13 and layout["cellHeading"] == '"Đang tham gia"'
        assert layout["bodyFont"] >= 15
        assert (tmp_path / "dashboard-390.png").stat().st_size > 50_000
        # English labels are longer (legend, headings): still nothing wider than the screen.
        page.click("#lang-en")
        english = page.evaluate(LAYOUT)
        page.screenshot(path=str(tmp_path / "dashboard-390-en.png"), full_page=True)
        assert english["documentWidth"] <= 390 and english["wider"] == []
        assert all(c["cut"] == [] and c["overlapping"] == 0 for c in english["charts"]), english["charts"]

        # Back at desktop width the same page redraws its charts wider, the table as a table.
        page.set_viewport_size({"width": 1200, "height": 1000})
        wait_until(page, "document.querySelector('#trend-chart').viewBox.baseVal.width > 1000")
        assert page.evaluate("getComputedStyle(document.querySelector('#figures-table thead')).display") != "none"


def test_withheld_cells_are_shown_as_withheld_not_as_zero(browser, site):
    token = site.issue("Mỹ Tho, published", localities=[SA_DEC], min_cell_size=5)
    items = site.api("breakdown", token=token, by="sex_age_band", locality=SA_DEC, scheme="BHXH_BB",
                     period=site.period, page_size=1000)["items"]
    withheld = {(i["sex"], i["age_band"]) for i in items if "active" in (i.get("suppressed") or [])}
    assert withheld  # the seed's cells of 3 and 2 people are below 5
    with dashboard(browser, site, token, f"{SA_DEC}@{site.period}") as page:
        assert page.inner_text("#withheld-note") == "“ẩn”: ô dưới 5 người không được công bố, để không nhận ra được cá nhân."
        shown = page.eval_on_selector_all("#by-sex-age tbody td", """tds => tds.map(td => [
            td.dataset.sex, td.closest('tr').dataset.band, td.textContent, td.classList.contains('withheld')])""")
        cells = {(sex, band): (text, marked) for sex, band, text, marked in shown}
        for item in items:
            key = (item["sex"], item["age_band"])
            if key in withheld:
                assert item["active"] is None and cells[key] == ("ẩn", True), key
            else:
                assert cells[key] == (vi_number(item["active"]), False), key
        page.click("#lang-en")
        assert {page.locator(f'#by-sex-age tr[data-band="{band}"] td[data-sex="{sex}"]').text_content()
                for sex, band in withheld} == {"withheld"}
