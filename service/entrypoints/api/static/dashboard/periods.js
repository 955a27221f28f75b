// The reporting period the user picks: a type (month, quarter, year, year to date), a year and
// an anchor month (the quarter is the one holding it). The reports' period labels are derived
// here and nowhere else: 2024-02, 2024-Q1, 2024, 2024-02-YTD.
"use strict";

const Periods = (() => {
  const TYPES = VOCABULARY.periodTypes;
  const pad = m => String(m).padStart(2, "0");
  const quarterOf = month => Math.floor((month - 1) / 3) + 1;

  // "2024-02" -> {type: "month", year: 2024, month: 2}
  function fromMonth(type, period) {
    const [year, month] = period.split("-").map(Number);
    return { type, year, month };
  }

  function key(sel) {
    switch (sel.type) {
      case "quarter": return `${sel.year}-Q${quarterOf(sel.month)}`;
      case "year": return `${sel.year}`;
      case "ytd": return `${sel.year}-${pad(sel.month)}-YTD`;
      default: return `${sel.year}-${pad(sel.month)}`;
    }
  }

  // The months the period covers, "YYYY-MM", first and last.
  function firstMonth(sel) {
    const first = { quarter: 3 * quarterOf(sel.month) - 2, year: 1, ytd: 1 }[sel.type] || sel.month;
    return `${sel.year}-${pad(first)}`;
  }

  function lastMonth(sel) {
    const last = { quarter: 3 * quarterOf(sel.month), year: 12 }[sel.type] || sel.month;
    return `${sel.year}-${pad(last)}`;
  }

  function label(sel, lang) {
    switch (sel.type) {
      case "quarter": return t(lang, "quarterLabel").replace("{q}", quarterOf(sel.month)).replace("{year}", sel.year);
      case "year": return t(lang, "yearLabel").replace("{year}", sel.year);
      case "ytd": return t(lang, "ytdLabel").replace("{first}", Format.monthName(1, lang)).replace("{last}", Format.month(lastMonth(sel), lang));
      default: return Format.month(key(sel), lang);
    }
  }

  return { TYPES, quarterOf, fromMonth, key, firstMonth, lastMonth, label };
})();
