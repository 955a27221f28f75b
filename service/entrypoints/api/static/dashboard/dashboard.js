// The dashboard: state, loading and events. Data comes only from the reporting API (api.js);
// the sections are drawn by render.js.
"use strict";

const TOKEN_KEY = "enrolment.reportingToken";
const LANG_KEY = "enrolment.lang";
const SCHEMES = VOCABULARY.schemes;  // the server's values (vocabulary.js), as every list of codes here
const FIRST_YEAR = 2000;  // the reports' period calendar starts here
const TREND_MONTHS = 24;

const state = {
  lang: localStorage.getItem(LANG_KEY) || "vi",
  token: sessionStorage.getItem(TOKEN_KEY),
  roots: [],         // the token's subtree roots [{code, name, level}]: nothing above them is offered
  minCellSize: null, // small-cell suppression in force for the token (null: off)
  path: [],          // [{code, name}] from the chosen root down to the chosen locality
  latest: null,      // "YYYY-MM": the latest month with figures
  sel: null,         // the chosen period {type, year, month} (periods.js)
  scheme: SCHEMES[0],
  data: null,        // {own, children, trend, flows, outreach, bySexAge} of the locality and period
};

const $ = sel => document.querySelector(sel);

function tr(key) { return t(state.lang, key); }

function current() { return state.path[state.path.length - 1]; }

// ---------------------------------------------------------------- language

function applyLanguage() {
  document.documentElement.lang = state.lang;
  document.title = tr("title");
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = tr(node.dataset.i18n);
  for (const b of document.querySelectorAll(".lang button")) b.setAttribute("aria-pressed", String(b.dataset.lang === state.lang));
  if (state.sel) renderPicker();
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
  try {
    if (!state.path.length) {
      const scope = await Api(state.token).scope();
      state.roots = scope.roots;
      state.minCellSize = scope.minCellSize;
      state.latest = scope.latestPeriod;
      state.path = [state.roots[0]];
      state.sel = state.sel || Periods.fromMonth("month", state.latest);
      renderPicker();
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
    state.path = [];
    return showLogin(tr("badToken"));
  }
  $("#status").textContent = tr("loadError") + (err && err.message ? err.message : String(err));
  console.error(err);
}

// ---------------------------------------------------------------- data

// The trend ends with the period's last month, or the latest month with figures if earlier.
function trendEnd() {
  const last = Periods.lastMonth(state.sel);
  return last < state.latest ? last : state.latest;
}

// Each load takes a ticket; only the newest one's answers are shown (a quick second pick must
// not be overwritten by the slower answers of the first).
let ticket = 0;

async function load() {
  const mine = ++ticket;
  const api = Api(state.token);
  const { code } = current();
  const sel = { ...state.sel }, scheme = state.scheme;
  $("#status").textContent = tr("loading");
  const [own, children, trend, flows, outreach] = await Promise.all([
    api.coverage(code, sel),
    api.children(code, sel),
    api.trend(code, scheme, trendEnd(), TREND_MONTHS),
    api.flows(code, scheme, sel),
    api.outreach(code, sel),
  ]);
  if (mine !== ticket) return;
  state.data = { own, children, trend, flows, outreach, bySexAge: null, sel };
  $("#status").textContent = "";
  render();
  // The by-person breakdown of a large area takes seconds (every commune's sex x birth-year
  // rows): it is asked for after the other figures are shown, and drawn when it comes.
  const bySexAge = await api.bySexAge(code, scheme, sel);
  if (mine !== ticket) return;
  state.data.bySexAge = bySexAge;
  renderBySexAge();
  document.body.dataset.loaded = `${code}@${Periods.key(sel)}`;
  document.body.dataset.loadedScheme = scheme;
}

function reload() { load().catch(handleError); }

function drill(code) {
  const child = state.data.children.localities.find(c => c.code === code);
  if (!child) return;
  state.path.push({ code: child.code, name: child.name });
  reload();
}

function goUp(index) {
  state.path = state.path.slice(0, index + 1);
  reload();
}

// A scheme tab reloads everything (not only the figures that follow the scheme): a period or
// locality picked just before may still be loading, and the page must show one consistent state.
function selectScheme(scheme) {
  state.scheme = scheme;
  reload();
}

// ---------------------------------------------------------------- period picker and area

function option(value, text, selected) {
  const o = document.createElement("option");
  o.value = String(value);
  o.textContent = text;
  o.selected = selected;
  return o;
}

function renderPicker() {
  const sel = state.sel;
  $("#period-type").replaceChildren(...Periods.TYPES.map(type => option(type, codeName(state.lang, "periodTypes", type), type === sel.type)));
  const lastYear = Math.max(Number(state.latest.slice(0, 4)), sel.year);
  const years = [];
  for (let y = lastYear; y >= FIRST_YEAR; y--) years.push(option(y, String(y), y === sel.year));
  $("#period-year").replaceChildren(...years);
  const sub = $("#period-sub");
  if (sel.type === "quarter") {
    sub.replaceChildren(...[1, 2, 3, 4].map(q => option(3 * q, `${tr("quarter")} ${q}`, q === Periods.quarterOf(sel.month))));
  } else {
    sub.replaceChildren(...Array.from({ length: 12 }, (_, i) => option(i + 1, Format.monthName(i + 1, state.lang), i + 1 === sel.month)));
  }
  $("#period-sub-label").hidden = sel.type === "year";
  $("#period-sub-name").textContent = tr(sel.type === "quarter" ? "quarter" : "month");

  const area = $("#area");
  $("#area-label").hidden = state.roots.length < 2;
  area.replaceChildren(...state.roots.map(r => option(r.code, r.name, r.code === state.path[0].code)));
}

function changePeriod() {
  state.sel = {
    type: $("#period-type").value,
    year: Number($("#period-year").value),
    month: Number($("#period-sub").value),
  };
  renderPicker();
  reload();
}

function changeArea() {
  const root = state.roots.find(r => r.code === $("#area").value);
  if (!root) return;
  state.path = [root];
  reload();
}

// ---------------------------------------------------------------- wiring

let redrawPending = false;
function redrawOnResize() {
  if (redrawPending || !state.data) return;
  redrawPending = true;
  requestAnimationFrame(() => { redrawPending = false; render(); });
}

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
    Object.assign(state, { token: null, roots: [], path: [], data: null, sel: null });
    showLogin();
  });
  for (const id of ["#period-type", "#period-year", "#period-sub"]) $(id).addEventListener("change", changePeriod);
  $("#area").addEventListener("change", changeArea);
  $("#csv-download").addEventListener("click", downloadCsv);
  window.addEventListener("resize", redrawOnResize);
  applyLanguage();
  start();
});
