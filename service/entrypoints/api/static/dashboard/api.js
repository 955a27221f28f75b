// The reporting API, as the dashboard reads it. Every request carries the reporting token;
// responses are normalised here so that the rest of the page does not depend on field names.
"use strict";

function Api(token) {
  async function get(path, params) {
    const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== null && v !== undefined));
    const response = await fetch(`${path}?${query}`, {
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

  const items = body => (Array.isArray(body) ? body : body.items || body.data || []);
  const num = v => (v === null || v === undefined || v === "" ? null : Number(v));

  function figure(row) {
    return {
      active: num(row.active),
      denominator: num(row.denominator),
      rate: num(row.coverage_rate),
      target: num(row.target_rate),
      attainment: num(row.attainment),
    };
  }

  function currentMonth() {
    const parts = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Ho_Chi_Minh", year: "numeric", month: "2-digit" }).formatToParts(new Date());
    const get = type => parts.find(p => p.type === type).value;
    return `${get("year")}-${get("month")}`;
  }

  return {
    // The nation and the latest month with figures (or this month).
    async root() {
      const body = await get("/v1/reports/localities", { level: "nation" });
      const nation = items(body)[0];
      return { code: nation.code, name: nation.name, latestPeriod: (body.latest_period || currentMonth()).slice(0, 7) };
    },

    // [{scheme, active, denominator, rate, target, attainment}] of one locality.
    async coverage(code, period) {
      const body = await get("/v1/reports/coverage", { locality: code, period });
      return items(body).map(r => ({ scheme: r.scheme, ...figure(r) }));
    },

    // {localities: [{code, name, hasChildren}], figures: {code: {scheme: figure}}}
    async children(code, period) {
      const body = await get("/v1/reports/coverage", { parent: code, period, limit: 1000 });
      const localities = [];
      const figures = {};
      for (const r of items(body)) {
        if (!figures[r.locality_code]) {
          figures[r.locality_code] = {};
          localities.push({ code: r.locality_code, name: r.locality_name, hasChildren: r.level !== "commune" });
        }
        figures[r.locality_code][r.scheme] = figure(r);
      }
      return { localities, figures };
    },

    // [{period, active, new, withdrawals}] for `months` months ending with `period`, oldest first.
    async trend(code, period, months) {
      const body = await get("/v1/reports/trend", { locality: code, to: period, months });
      return items(body).map(r => ({
        period: String(r.period).slice(0, 7),
        active: num(r.active),
        new: num(r.new_participants),
        withdrawals: num(r.withdrawals),
      }));
    },

    async outreach(code, period) {
      const body = await get("/v1/reports/outreach", { locality: code, period });
      const r = items(body)[0] || {};
      return {
        conferences: num(r.conferences),
        attendees: num(r.attendees),
        campaignEnrolments: num(r.campaign_enrolments),
        enrolmentsPerConference: num(r.enrolments_per_conference),
        costVnd: num(r.cost_vnd),
      };
    },
  };
}
