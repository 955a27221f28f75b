// The reporting API, as the dashboard reads it (docs/reporting.md). Every request carries the
// reporting token; responses are normalised here so that the rest of the page does not depend
// on field names. Rates are returned as fractions (0.8828); the API gives percentages.
"use strict";

// The denominator each scheme's coverage bar is measured against (DOMAIN.md: in-scope
// population for BHXH_BB and BHTN, labour force for voluntary BHXH, population for BHYT).
const PRIMARY_MEASURE = {
  BHXH_BB: "in_scope_bhxh_bb", BHTN: "in_scope_bhtn", BHXH_TN: "labour_force", BHXH: "labour_force",
  BHYT_HGD: "population", BHYT_KHAC: "population", BHYT: "population",
};
const PAGE_SIZE = 10000;

function Api(token) {
  async function get(path, params) {
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

  const num = v => (v === null || v === undefined || v === "" ? null : Number(v));
  const frac = pct => (pct === null || pct === undefined ? null : Number(pct) / 100);

  // coverage rows + plan rows of some localities -> {code: {scheme: figure}}
  function figures(coverage, plan) {
    const out = {};
    for (const r of coverage) {
      if (r.denominator_measure && r.denominator_measure !== PRIMARY_MEASURE[r.scheme]) continue;
      (out[r.locality_code] ||= {})[r.scheme] = {
        active: num(r.active), denominator: num(r.denominator), measure: r.denominator_measure,
        rate: frac(r.coverage_pct), target: null, attainment: null,
      };
    }
    for (const p of plan) {
      const f = out[p.locality_code]?.[p.subject];
      if (!f || p.basis !== "active") continue;
      f.attainment = frac(p.attainment_pct);
      if (p.target_rate_pct !== null && p.denominator_measure === f.measure) f.target = frac(p.target_rate_pct);
      else if (p.target_value !== null && f.denominator) f.target = Number(p.target_value) / f.denominator;
    }
    return out;
  }

  return {
    // The root of the tree (the nation) and the latest month with figures.
    async root() {
      const roots = await get("localities", {});
      const nation = roots.items[0];
      // The trend's default end is the latest month with data.
      const latest = await get("trend", { locality: nation.code, months: 1 });
      return { code: nation.code, name: nation.name, latestPeriod: latest.items[0].period };
    },

    // {scheme: figure} of one locality in one month.
    async coverage(code, period) {
      const year = period.slice(0, 4);
      const [coverage, plan] = await Promise.all([
        get("coverage", { locality: code, period, page_size: PAGE_SIZE }),
        get("plan", { locality: code, year, basis: "active", page_size: PAGE_SIZE }),
      ]);
      return figures(coverage.items, plan.items)[code] || {};
    },

    // {localities: [{code, name, hasChildren}], figures: {code: {scheme: figure}}}
    async children(code, period) {
      const year = period.slice(0, 4);
      const [kids, coverage, plan] = await Promise.all([
        get("localities", { parent: code, page_size: PAGE_SIZE }),
        get("coverage", { parent: code, period, page_size: PAGE_SIZE }),
        get("plan", { parent: code, year, basis: "active", page_size: PAGE_SIZE }),
      ]);
      return {
        localities: kids.items.map(l => ({ code: l.code, name: l.name, hasChildren: Number(l.children) > 0 })),
        figures: figures(coverage.items, plan.items),
      };
    },

    // [{period, active, new, withdrawals}] of `scheme` for `months` months ending with `period`.
    async trend(code, scheme, period, months) {
      const body = await get("trend", { locality: code, scheme, end: period, months });
      return body.items.map(r => ({
        period: r.period, active: num(r.active), new: num(r.new_participants), withdrawals: num(r.withdrawals),
      }));
    },

    // Outreach in the month, all campaigns together.
    async outreach(code, period) {
      const body = await get("outreach", { locality: code, period, campaign: "*" });
      const r = body.items[0] || {};
      return {
        conferences: num(r.conferences) ?? 0,
        attendees: num(r.attendees) ?? 0,
        campaignEnrolments: num(r.enrolments) ?? 0,
        enrolmentsPerConference: num(r.enrolments_per_conference),
        costVnd: num(r.cost_vnd) ?? 0,
      };
    },
  };
}
