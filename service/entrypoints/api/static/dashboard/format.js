// Formatting for the dashboard, always in the interface language, never the browser's locale.
// Numbers are written out (Vietnamese 12.844; 88,28 % — English 12,844; 88.28 %) so that every
// browser shows the same digits; month names come from Intl with the interface language given
// explicitly.
"use strict";

const Format = (() => {
  const SEPARATORS = { vi: { group: ".", decimal: "," }, en: { group: ",", decimal: "." } };
  const LOCALES = { vi: "vi-VN", en: "en-GB" };
  // A cell the API withheld (small-cell suppression): shown as such, never as 0 or "–".
  const WITHHELD = Object.freeze({ withheld: true });

  const isWithheld = v => v === WITHHELD;

  function number(value, lang, decimals = 0) {
    if (isWithheld(value)) return t(lang, "withheld");
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
    if (isWithheld(rate)) return t(lang, "withheld");
    if (rate === null || rate === undefined || Number.isNaN(Number(rate))) return "–";
    return number(Number(rate) * 100, lang, decimals) + "\u00a0%";
  }

  function dateFormat(lang, options) {
    return new Intl.DateTimeFormat(LOCALES[lang] || LOCALES.vi, { timeZone: "UTC", ...options });
  }

  // "2024-02" -> "tháng 2 năm 2024" / "February 2024"; style "short": "thg 2, 2024" / "Feb 2024".
  function month(period, lang, style = "long") {
    const [y, m] = String(period).slice(0, 7).split("-").map(Number);
    return dateFormat(lang, { month: style, year: "numeric" }).format(Date.UTC(y, m - 1, 1));
  }

  // 1..12 -> "tháng 2" / "February" (the month alone, for the period picker).
  function monthName(monthNumber, lang) {
    return dateFormat(lang, { month: "long" }).format(Date.UTC(2000, monthNumber - 1, 1));
  }

  return { WITHHELD, isWithheld, number, percent, month, monthName };
})();
