// The reporting API, as the dashboard reads it (docs/reporting.md). Every request carries the
// reporting token; responses are normalised here so that the rest of the page does not depend
// on field names. Rates are returned as fractions (0.8828); the API gives percentages. A cell
// the API withheld (listed in the row's `suppressed`) becomes Format.WITHHELD, never 0.
"use strict";

// The denominator each scheme's coverage bar is measured against (the server's, vocabulary.js).
const PRIMARY_MEASURE = VOCABULARY.primaryMeasure;
const PAGE_SIZE = 10000;

function Api(token) {
  async function get(path, params = {}) {
    const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== null && v !== undefined));
    const response = await fetch(`/v1/reports/${path}?${query}`, {
      headers: { Authorization: `Bearer ${token}`, Accept: "application/json" },
    });
    if (!response.ok) {
      let detail = "";
      try { const body = await response.json(); detail = body.detail || body.title || ""; } catch (_) { /* not JSON */ }
      const err = new Error(`${response.status} ${detail}`.trim());
      err.status = response.status;
      throw err;
    }
    return response.json();
  }

  // A figure of a row: a number, null (none) or Format.WITHHELD.
  function cell(row, key) {
    if ((row.suppressed || []).includes(key)) return Format.WITHHELD;
    const v = row[key];
    return v === null || v === undefined || v === "" ? null : Number(v);
  }
  const frac = v => (typeof v === "number" ? v / 100 : v);
  // A count where "no row" means none happened (flows, outreach): 0, unless withheld.
  const count = (row, key) => (row ? cell(row, key) ?? 0 : 0);
  const periodParams = sel => ({ period_type: sel.type, period: Periods.key(sel) });

  // coverage rows + plan rows of some localities -> {code: {scheme: figure}}
  function figures(coverage, plan) {
    const out = {};
    for (const r of coverage) {
      if (r.denominator_measure && r.denominator_measure !== PRIMARY_MEASURE[r.scheme]) continue;
      (out[r.locality_code] ||= {})[r.scheme] = {
        active: cell(r, "active"), denominator: cell(r, "denominator"), measure: r.denominator_measure,
        rate: frac(cell(r, "coverage_pct")), target: null, attainment: null,
      };
    }
    for (const p of plan) {
      const f = out[p.locality_code]?.[p.subject];
      if (!f || p.basis !== "active") continue;
      f.attainment = frac(cell(p, "attainment_pct"));
      const rate = cell(p, "target_rate_pct"), value = cell(p, "target_value");
      if (rate !== null && p.denominator_measure === f.measure) f.target = frac(rate);
      else if (typeof value === "number" && typeof f.denominator === "number" && f.denominator) f.target = value / f.denominator;
    }
    return out;
  }

  return {
    // What the token may see: its subtree roots (the nation root for a nation-wide token) and
    // the minimum cell size in force; plus the latest month with figures (the default period).
    async scope() {
      const body = await get("scope");
      const roots = body.localities.map(l => ({ code: l.code, name: l.name, level: l.level }));
      const latest = await get("trend", { locality: roots[0].code, months: 1 });
      return { nation: body.nation, roots, minCellSize: body.min_cell_size, latestPeriod: latest.items[0].period };
    },

    // {scheme: figure} of one locality in one period.
    async coverage(code, sel) {
      const [coverage, plan] = await Promise.all([
        get("coverage", { locality: code, ...periodParams(sel), page_size: PAGE_SIZE }),
        get("plan", { locality: code, year: sel.year, basis: "active", page_size: PAGE_SIZE }),
      ]);
      return figures(coverage.items, plan.items)[code] || {};
    },

    // {localities: [{code, name, hasChildren}], figures: {code: {scheme: figure}}}
    async children(code, sel) {
      const [kids, coverage, plan] = await Promise.all([
        get("localities", { parent: code, page_size: PAGE_SIZE }),
        get("coverage", { parent: code, ...periodParams(sel), page_size: PAGE_SIZE }),
        get("plan", { parent: code, year: sel.year, basis: "active", page_size: PAGE_SIZE }),
      ]);
      return {
        localities: kids.items.map(l => ({ code: l.code, name: l.name, hasChildren: Number(l.children) > 0 })),
        figures: figures(coverage.items, plan.items),
      };
    },

    // [{period, active, new, withdrawals}] of `scheme` for `months` months ending with `end` (YYYY-MM).
    async trend(code, scheme, end, months) {
      const body = await get("trend", { locality: code, scheme, end, months });
      return body.items.map(r => ({
        period: r.period, active: cell(r, "active"), new: cell(r, "new_participants"), withdrawals: cell(r, "withdrawals"),
      }));
    },

    // Flows of `scheme` summed over the period.
    async flows(code, scheme, sel) {
      const body = await get("flows", { locality: code, scheme, ...periodParams(sel) });
      const r = body.items[0];
      return {
        newParticipants: count(r, "new_participants"), reactivations: count(r, "reactivations"),
        withdrawals: count(r, "withdrawals"),
      };
    },

    // Outreach over the period, all campaigns together.
    async outreach(code, sel) {
      const body = await get("outreach", { locality: code, ...periodParams(sel), campaign: "*" });
      const r = body.items[0];
      return {
        conferences: count(r, "conferences"),
        attendees: count(r, "attendees"),
        campaignEnrolments: count(r, "enrolments"),
        enrolmentsPerConference: r ? cell(r, "enrolments_per_conference") : null,
        costVnd: count(r, "cost_vnd"),
      };
    },

    // Active participants at the period's end by sex and age band: [{sex, ageBand, active}].
    async bySexAge(code, scheme, sel) {
      const body = await get("breakdown", { by: "sex_age_band", locality: code, scheme, ...periodParams(sel), page_size: PAGE_SIZE });
      return body.items.map(r => ({ sex: r.sex, ageBand: r.age_band, active: cell(r, "active") }));
    },
  };
}
