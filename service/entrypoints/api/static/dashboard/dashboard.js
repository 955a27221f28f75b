// The dashboard: state, rendering and events. Data comes only from the reporting API (api.js).
"use strict";

const TOKEN_KEY = "enrolment.reportingToken";
const LANG_KEY = "enrolment.lang";
const SCHEMES = ["BHXH_BB", "BHXH_TN", "BHTN", "BHYT_HGD", "BHYT_KHAC", "BHXH", "BHYT"];

const state = {
  lang: localStorage.getItem(LANG_KEY) || "vi",
  token: sessionStorage.getItem(TOKEN_KEY),
  path: [],          // [{code, name}] from the nation down to the chosen locality
  period: null,      // "YYYY-MM"
  scheme: SCHEMES[0],
  data: null,        // {own, children, trend, outreach} of the chosen locality and period
};

const $ = sel => document.querySelector(sel);

function tr(key) { return t(state.lang, key); }

// ---------------------------------------------------------------- language

function applyLanguage() {
  document.documentElement.lang = state.lang;
  document.title = tr("title");
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = tr(node.dataset.i18n);
  for (const b of document.querySelectorAll(".lang button")) b.setAttribute("aria-pressed", String(b.dataset.lang === state.lang));
  if (state.data) render();
}

// ---------------------------------------------------------------- token

function showLogin(message) {
  $("#app").hidden = true;
  $("#forget-token").hidden = true;
  $("#login").hidden = false;
  $("#login-error").textContent = message || "";
  $("#token-input").focus();
}

async function start() {
  if (!state.token) return showLogin();
  $("#login").hidden = true;
  $("#app").hidden = false;
  $("#forget-token").hidden = false;
  const api = Api(state.token);
  try {
    if (!state.path.length) {
      const root = await api.root();
      state.path = [root];
      state.period = state.period || root.latestPeriod;
      $("#period").value = state.period;
    }
    await load();
  } catch (err) {
    handleError(err);
  }
}

function handleError(err) {
  if (err && err.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    state.token = null;
    return showLogin(tr("badToken"));
  }
  $("#status").textContent = tr("loadError") + (err && err.message ? err.message : String(err));
  console.error(err);
}

// ---------------------------------------------------------------- data

async function load() {
  const api = Api(state.token);
  const locality = state.path[state.path.length - 1];
  $("#status").textContent = tr("loading");
  const [own, children, trend, outreach] = await Promise.all([
    api.coverage(locality.code, state.period),
    api.children(locality.code, state.period),
    api.trend(locality.code, state.scheme, state.period, 24),
    api.outreach(locality.code, state.period),
  ]);
  state.data = { own, children, trend, outreach };
  $("#status").textContent = "";
  document.body.dataset.loaded = `${locality.code}@${state.period}`;
  render();
}

async function drill(code) {
  const child = state.data.children.localities.find(c => c.code === code);
  if (!child) return;
  state.path.push({ code: child.code, name: child.name });
  try { await load(); } catch (err) { handleError(err); }
}

// The trend follows the chosen scheme; the other figures are already loaded.
async function selectScheme(scheme) {
  state.scheme = scheme;
  const locality = state.path[state.path.length - 1];
  try {
    state.data.trend = await Api(state.token).trend(locality.code, scheme, state.period, 24);
    render();
  } catch (err) { handleError(err); }
}

async function goUp(index) {
  state.path = state.path.slice(0, index + 1);
  try { await load(); } catch (err) { handleError(err); }
}

// ---------------------------------------------------------------- rendering

function render() {
  const { own, children, trend, outreach } = state.data;
  const lang = state.lang;
  renderCrumbs();
  for (const n of document.querySelectorAll(".locality-name")) n.textContent = state.path[state.path.length - 1].name;

  Charts.coverageBars($("#coverage-own"), SCHEMES.filter(s => own[s]).map(s => ({
    key: s, label: schemeName(lang, s), rate: own[s].rate, target: own[s].target, active: own[s].active, drill: false,
  })), { lang, emptyText: tr("noData"), activeLabel: tr("participants") });

  const tabs = $("#scheme-tabs");
  tabs.textContent = "";
  for (const scheme of SCHEMES) {
    const b = document.createElement("button");
    b.type = "button";
    b.setAttribute("role", "tab");
    b.dataset.scheme = scheme;
    b.setAttribute("aria-selected", String(scheme === state.scheme));
    b.textContent = schemeName(lang, scheme);
    b.addEventListener("click", () => selectScheme(scheme));
    tabs.appendChild(b);
  }
  for (const n of document.querySelectorAll(".scheme-name")) n.textContent = schemeName(lang, state.scheme);
  // Children without any figure for the scheme are left out of the chart (34 provinces, ~100
  // communes each: mostly empty in a young system); the hint says how many.
  const withData = children.localities.filter(c => children.figures[c.code]?.[state.scheme]);
  const rows = withData.map(c => {
    const f = children.figures[c.code][state.scheme];
    return { key: c.code, label: c.name, rate: f.rate, target: f.target, active: f.active, drill: c.hasChildren };
  });
  Charts.coverageBars($("#coverage-children"), rows, {
    lang, onDrill: drill, emptyText: children.localities.length ? tr("noData") : tr("noChildren"), activeLabel: tr("participants"),
  });
  const hidden = children.localities.length - withData.length;
  $("#children-without-data").textContent = hidden ? tr("withoutData").replace("{n}", Format.number(hidden, lang)) : "";

  Charts.trend($("#trend-chart"), trend, {
    lang, emptyText: tr("noData"),
    labels: { active: tr("active"), new: tr("newParticipants"), withdrawals: tr("withdrawals") },
  });

  const dl = $("#outreach");
  dl.textContent = "";
  for (const [key, value, decimals] of [
    ["conferences", outreach.conferences, 0], ["attendees", outreach.attendees, 0],
    ["campaignEnrolments", outreach.campaignEnrolments, 0],
    ["enrolmentsPerConference", outreach.enrolmentsPerConference, 2], ["costVnd", outreach.costVnd, 0],
  ]) {
    const div = document.createElement("div");
    div.dataset.figure = key;
    const dt = document.createElement("dt");
    dt.textContent = tr(key);
    const dd = document.createElement("dd");
    dd.textContent = Format.number(value, lang, value == null ? 0 : decimals);
    div.append(dt, dd);
    dl.appendChild(div);
  }
  renderTable();
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

// The table holds exactly the figures the charts show: the chosen locality, then its children.
function tableRows() {
  const { own, children } = state.data;
  const me = state.path[state.path.length - 1];
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
  const body = table.tBodies[0];
  body.replaceChildren(...tableRows().map(r => {
    const row = document.createElement("tr");
    row.dataset.code = r.code;
    row.dataset.scheme = r.scheme;
    for (const [key, show] of COLUMNS) {
      const td = document.createElement("td");
      td.dataset.col = key;
      td.textContent = show(r);
      row.appendChild(td);
    }
    return row;
  }));
}

// CSV of the table: machine-readable values (codes, plain numbers, fractions), UTF-8 with BOM
// so that spreadsheet programs read Vietnamese names correctly.
function downloadCsv() {
  const quote = v => {
    const s = v === null || v === undefined ? "" : String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const header = ["locality_code", "locality_name", "scheme", "period", "active", "denominator", "coverage_rate", "target_rate", "attainment"];
  const lines = [header.join(",")];
  for (const r of tableRows()) {
    lines.push([r.code, r.name, r.scheme, state.period, r.active, r.denominator, r.rate, r.target, r.attainment].map(quote).join(","));
  }
  const blob = new Blob(["\ufeff" + lines.join("\r\n") + "\r\n"], { type: "text/csv;charset=utf-8" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = `coverage-${state.path[state.path.length - 1].code}-${state.period}.csv`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

// ---------------------------------------------------------------- wiring

document.addEventListener("DOMContentLoaded", () => {
  for (const b of document.querySelectorAll(".lang button")) {
    b.addEventListener("click", () => {
      state.lang = b.dataset.lang;
      localStorage.setItem(LANG_KEY, state.lang);
      applyLanguage();
    });
  }
  $("#login-form").addEventListener("submit", e => {
    e.preventDefault();
    state.token = $("#token-input").value.trim();
    sessionStorage.setItem(TOKEN_KEY, state.token);
    $("#token-input").value = "";
    start();
  });
  $("#forget-token").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    state.token = null;
    state.path = [];
    state.data = null;
    showLogin();
  });
  $("#period").addEventListener("change", e => {
    if (!e.target.value) return;
    state.period = e.target.value;
    load().catch(handleError);
  });
  $("#csv-download").addEventListener("click", downloadCsv);
  applyLanguage();
  start();
});
