// Drawing the dashboard's sections from state.data (dashboard.js), and the table's CSV.
"use strict";

function render() {
  const { own, children, trend, sel } = state.data;
  const lang = state.lang;
  renderCrumbs();
  for (const n of document.querySelectorAll(".locality-name")) n.textContent = current().name;
  for (const n of document.querySelectorAll(".period-label")) n.textContent = Periods.label(sel, lang);
  for (const n of document.querySelectorAll(".scheme-name")) n.textContent = schemeName(lang, state.scheme);
  const note = $("#withheld-note");
  note.hidden = state.minCellSize === null;
  note.textContent = state.minCellSize === null ? "" : tr("withheldNote").replace("{n}", Format.number(state.minCellSize, lang));

  renderOwnCoverage(own, sel);
  renderSchemeTabs();
  // Children without any figure for the scheme are left out of the chart (34 provinces, ~100
  // communes each: mostly empty in a young system); the hint says how many.
  const withData = children.localities.filter(c => children.figures[c.code]?.[state.scheme]);
  const rows = withData.map(c => {
    const f = children.figures[c.code][state.scheme];
    return { key: c.code, label: c.name, rate: f.rate, target: f.target, active: f.active, drill: c.hasChildren };
  });
  Charts.coverageBars($("#coverage-children"), rows, {
    lang, onDrill: drill, emptyText: children.localities.length ? tr("noData") : tr("noChildren"),
    activeLabel: tr("participants"), noDenominatorText: tr("noDenominatorShort"),
  });
  $("#drill-hint").hidden = !rows.some(r => r.drill);
  const hidden = children.localities.length - withData.length;
  $("#children-without-data").textContent = hidden ? tr("withoutData").replace("{n}", Format.number(hidden, lang)) : "";

  Charts.trend($("#trend-chart"), trend, {
    lang, emptyText: tr("noData"), chosen: { first: Periods.firstMonth(sel), last: Periods.lastMonth(sel) },
    labels: { active: tr("active"), new: tr("newParticipants"), withdrawals: tr("withdrawals") },
  });
  const { flows, outreach } = state.data;
  renderFigures($("#period-flows"), [
    ["newParticipants", flows.newParticipants, 0], ["reactivations", flows.reactivations, 0], ["withdrawals", flows.withdrawals, 0],
  ]);
  renderFigures($("#outreach"), [
    ["conferences", outreach.conferences, 0], ["attendees", outreach.attendees, 0],
    ["campaignEnrolments", outreach.campaignEnrolments, 0],
    ["enrolmentsPerConference", outreach.enrolmentsPerConference, 2], ["costVnd", outreach.costVnd, 0],
  ]);
  renderBySexAge();
  renderTable();
}

// The locality's own coverage per scheme; when no scheme has a denominator for the year, an
// explicit "no denominator loaded" notice with the active participants instead of a bar chart.
function renderOwnCoverage(own, sel) {
  const lang = state.lang;
  const rows = SCHEMES.filter(s => own[s]).map(s => ({
    key: s, label: schemeName(lang, s), rate: own[s].rate, target: own[s].target, active: own[s].active, drill: false,
  }));
  const noDenominator = rows.length > 0 && rows.every(r => r.rate === null);
  $("#no-denominator").hidden = !noDenominator;
  $("#coverage-own").toggleAttribute("hidden", noDenominator);  // an SVG element has no .hidden
  $("#coverage-legend").hidden = noDenominator;
  if (noDenominator) {
    $("#no-denominator-text").textContent = tr("noDenominatorText").replace("{locality}", current().name).replace("{year}", sel.year);
    renderFigures($("#active-without-denominator"), rows.map(r => [r.key, r.active, 0, r.label]));
    $("#coverage-own").replaceChildren();
  } else {
    Charts.coverageBars($("#coverage-own"), rows, {
      lang, emptyText: tr("noData"), activeLabel: tr("participants"), noDenominatorText: tr("noDenominatorShort"),
    });
  }
}

function renderSchemeTabs() {
  $("#scheme-tabs").replaceChildren(...SCHEMES.map(scheme => {
    const b = document.createElement("button");
    b.type = "button";
    b.setAttribute("role", "tab");
    b.dataset.scheme = scheme;
    b.setAttribute("aria-selected", String(scheme === state.scheme));
    b.textContent = schemeName(state.lang, scheme);
    b.addEventListener("click", () => selectScheme(scheme));
    return b;
  }));
}

// items: [[key, value, decimals, label?]] -> <div data-figure=key><dt>label</dt><dd>value</dd></div>
function renderFigures(dl, items) {
  dl.replaceChildren(...items.map(([key, value, decimals, label]) => {
    const div = document.createElement("div");
    div.dataset.figure = key;
    const dt = document.createElement("dt");
    dt.textContent = label || tr(key);
    const dd = document.createElement("dd");
    dd.textContent = Format.number(value, state.lang, value == null ? 0 : decimals);
    dd.classList.toggle("withheld", Format.isWithheld(value));
    div.append(dt, dd);
    return div;
  }));
}

function renderCrumbs() {
  const nav = $("#crumbs");
  nav.textContent = "";
  state.path.forEach((p, i) => {
    if (i) nav.append(" › ");
    if (i < state.path.length - 1) {
      const a = document.createElement("a");
      a.textContent = p.name;
      a.dataset.code = p.code;
      a.tabIndex = 0;
      a.addEventListener("click", () => goUp(i));
      nav.appendChild(a);
    } else {
      const s = document.createElement("span");
      s.textContent = p.name;
      s.dataset.code = p.code;
      s.setAttribute("aria-current", "page");
      nav.appendChild(s);
    }
  });
}

// Active participants by age band (rows) and sex (columns), as the API gives them: no totals,
// so that a withheld cell cannot be worked out from the others.
function renderBySexAge() {
  const loading = state.data.bySexAge === null;
  const items = state.data.bySexAge || [];
  $("#by-sex-age-empty").textContent = tr(loading ? "loading" : "noData");
  const sexes = VOCABULARY.sexes.filter(s => items.some(i => i.sex === s));
  const bands = VOCABULARY.ageBands.filter(b => items.some(i => i.ageBand === b));
  const table = $("#by-sex-age");
  $("#by-sex-age-empty").hidden = items.length > 0;  // "loading…" or "no figures yet"
  table.hidden = !items.length;
  const head = document.createElement("tr");
  head.append(...[tr("ageBand"), ...sexes.map(s => codeName(state.lang, "sexes", s))].map(text => {
    const th = document.createElement("th");
    th.textContent = text;
    return th;
  }));
  table.tHead.replaceChildren(head);
  table.tBodies[0].replaceChildren(...bands.map(band => {
    const row = document.createElement("tr");
    row.dataset.band = band;
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = codeName(state.lang, "ageBands", band);
    row.appendChild(th);
    for (const sex of sexes) {
      const item = items.find(i => i.sex === sex && i.ageBand === band);
      const td = document.createElement("td");
      td.dataset.sex = sex;
      td.dataset.label = codeName(state.lang, "sexes", sex);
      td.textContent = Format.number(item ? item.active : null, state.lang);
      td.classList.toggle("withheld", Boolean(item) && Format.isWithheld(item.active));
      row.appendChild(td);
    }
    return row;
  }));
}

// The table holds exactly the figures the charts show: the chosen locality, then its children.
function tableRows() {
  const { own, children } = state.data;
  const me = current();
  const rows = SCHEMES.filter(s => own[s]).map(s => ({ code: me.code, name: me.name, scheme: s, ...own[s] }));
  for (const c of children.localities) {
    for (const scheme of SCHEMES) {
      const f = children.figures[c.code]?.[scheme];
      if (f) rows.push({ code: c.code, name: c.name, scheme, ...f });
    }
  }
  return rows;
}

const COLUMNS = [
  ["locality", r => r.name, r => r.name],
  ["scheme", r => schemeName(state.lang, r.scheme), r => r.scheme],
  ["active", r => Format.number(r.active, state.lang), r => r.active],
  ["denominator", r => Format.number(r.denominator, state.lang), r => r.denominator],
  ["coverage", r => Format.percent(r.rate, state.lang), r => r.rate],
  ["target", r => Format.percent(r.target, state.lang), r => r.target],
  ["attainment", r => Format.percent(r.attainment, state.lang), r => r.attainment],
];

function renderTable() {
  const table = $("#figures-table");
  const head = document.createElement("tr");
  for (const [key] of COLUMNS) {
    const th = document.createElement("th");
    th.textContent = tr(key);
    head.appendChild(th);
  }
  table.tHead.replaceChildren(head);
  table.tBodies[0].replaceChildren(...tableRows().map(r => {
    const row = document.createElement("tr");
    row.dataset.code = r.code;
    row.dataset.scheme = r.scheme;
    for (const [key, show, raw] of COLUMNS) {
      const td = document.createElement("td");
      td.dataset.col = key;
      td.dataset.label = tr(key);  // the heading of the cell in the phone layout (stacked cards)
      td.textContent = show(r);
      td.classList.toggle("withheld", Format.isWithheld(raw(r)));
      row.appendChild(td);
    }
    return row;
  }));
}

// CSV of the table: machine-readable values (codes, plain numbers, fractions), UTF-8 with BOM
// so that spreadsheet programs read Vietnamese names correctly; a withheld cell says "withheld".
function downloadCsv() {
  const quote = v => {
    const s = v === null || v === undefined ? "" : Format.isWithheld(v) ? "withheld" : String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const sel = state.data.sel;
  const header = ["locality_code", "locality_name", "scheme", "period_type", "period", "active", "denominator", "coverage_rate", "target_rate", "attainment"];
  const lines = [header.join(",")];
  for (const r of tableRows()) {
    lines.push([r.code, r.name, r.scheme, sel.type, Periods.key(sel), r.active, r.denominator, r.rate, r.target, r.attainment].map(quote).join(","));
  }
  const blob = new Blob(["\ufeff" + lines.join("\r\n") + "\r\n"], { type: "text/csv;charset=utf-8" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = `coverage-${current().code}-${Periods.key(sel)}.csv`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}
