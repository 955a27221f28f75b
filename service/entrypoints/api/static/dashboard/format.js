// Number formatting for the dashboard: Vietnamese (12.844; 88,28 %) or English (12,844; 88.28 %).
// Written out rather than left to Intl so that every browser shows the same digits.
"use strict";

const Format = (() => {
  const SEPARATORS = { vi: { group: ".", decimal: "," }, en: { group: ",", decimal: "." } };

  function number(value, lang, decimals = 0) {
    if (value === null || value === undefined || Number.isNaN(Number(value))) return "–";
    const sep = SEPARATORS[lang] || SEPARATORS.vi;
    const fixed = Math.abs(Number(value)).toFixed(decimals);
    const [whole, frac] = fixed.split(".");
    const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, sep.group);
    const sign = Number(value) < 0 && Number(fixed) !== 0 ? "-" : "";
    return sign + grouped + (frac ? sep.decimal + frac : "");
  }

  // `rate` is a fraction (0.8828) or null; shown as "88,28 %".
  function percent(rate, lang, decimals = 2) {
    if (rate === null || rate === undefined || Number.isNaN(Number(rate))) return "–";
    return number(Number(rate) * 100, lang, decimals) + "\u00a0%";
  }

  // "2026-10" -> "10/2026" (both languages write months this way in these reports).
  function month(period) {
    const [y, m] = String(period).slice(0, 7).split("-");
    return `${m}/${y}`;
  }

  return { number, percent, month };
})();
