-- Every reporting row a function of the set of events (issue 15).
--
-- The agg_* tables may hold rows whose values are all zero (a re-derivation nets a row to zero
-- and leaves it; whether it does depends on the order in which events arrived). The views
-- therefore decide which rows exist from the values they compute, never from which table rows
-- exist. One rule, applied where each view makes its rows:
--
--   A row is shown iff one of its measures is non-zero, comparison columns included (active at
--   the end of the previous period, withdrawals a year earlier, ...: a fall to zero is news).
--   The one exception: a locality with a denominator for the period's year is listed with 0
--   for the schemes measured against that denominator (coverage 0 %), exactly that locality,
--   not its ancestors.
--
-- Stock and flows are rolled up once, in the internal views of schema reporting_base (every
-- locality and scheme with figures, zero or not; no grant to reporting_reader); the reporting
-- views apply the rule to them. Derived views read the same roll-ups, so no view can disagree
-- with another, and each reads only the measures it needs (PostgreSQL drops the unused
-- aggregates of a view it selects from): coverage (active, or listed by a denominator) and
-- stock from reporting_base.stock; flows, withdrawals and the flow half of growth from
-- reporting_base.flows; growth has a row wherever stock has one or flows have a non-zero growth
-- measure (new participants, re-activations, now, a period earlier or a year earlier);
-- flows_by_channel from flows_by_agent (agents = agents with a non-zero flow); plan attainment
-- from stock, flows and outreach.
--
-- Structure and speed as in 0021: each roll-up aggregates per commune first inside a subquery
-- grouped by the period columns, so a filter on (period_type, period) is pushed down to the
-- calendar, through the GROUP BYs and UNION ALLs, and only that period's months are read.
-- CREATE OR REPLACE keeps each reporting view's columns, comments and grants.

CREATE SCHEMA reporting_base;
COMMENT ON SCHEMA reporting_base IS 'Internal roll-ups the reporting views are built on: every locality and scheme with figures, zero or not. Read the reporting views instead (no grant to reporting_reader).';

CREATE VIEW reporting_base.stock AS
SELECT r.period_type, r.period, r.year, r.period_start, r.period_end,
       r.locality_code, l.name AS locality_name, l.level, r.scheme,
       r.active, r.active_previous_period, r.active_same_period_last_year, r.listed
FROM (
    SELECT u.period_type, u.period, u.year, u.period_start, u.period_end, u.locality_code, u.scheme,
           sum(u.active)::bigint AS active,
           sum(u.active_previous_period)::bigint AS active_previous_period,
           sum(u.active_same_period_last_year)::bigint AS active_same_period_last_year,
           bool_or(u.listed) AS listed
    FROM (
        SELECT c.period_type, c.period, c.year, c.period_start, c.period_end,
               lc.ancestor_code AS locality_code, sm.scheme,
               c.active, c.active_previous_period, c.active_same_period_last_year, false AS listed
        FROM (
            SELECT p.period_type, p.period, p.year, p.period_start, p.period_end, a.locality_code, a.scheme,
                   coalesce(sum(a.delta) FILTER (WHERE a.month <= p.period_end), 0) AS active,
                   coalesce(sum(a.delta) FILTER (WHERE a.month <= p.prev_end), 0) AS active_previous_period,
                   coalesce(sum(a.delta) FILTER (WHERE a.month <= p.ly_end), 0) AS active_same_period_last_year
            FROM report_periods p
            JOIN agg_active_changes a ON a.month <= p.period_end
            GROUP BY p.period_type, p.period, p.year, p.period_start, p.period_end, a.locality_code, a.scheme
        ) c
        JOIN locality_closure lc ON lc.descendant_code = c.locality_code
        JOIN report_scheme_members sm ON sm.member = c.scheme
        UNION ALL
        -- The locality with a denominator in the period's year, for each scheme measured against
        -- it: listed with 0 when nobody is active (coverage 0 %, where outreach is needed most).
        SELECT p.period_type, p.period, p.year, p.period_start, p.period_end, d.locality_code, dm.scheme,
               0, 0, 0, true
        FROM report_periods p
        JOIN denominators d ON d.year = p.year
        JOIN report_scheme_denominators dm ON dm.measure = d.measure
    ) u
    GROUP BY u.period_type, u.period, u.year, u.period_start, u.period_end, u.locality_code, u.scheme
) r
JOIN localities l ON l.code = r.locality_code;

CREATE VIEW reporting_base.flows AS
SELECT r.period_type, r.period, r.year, r.period_start, r.period_end,
       r.locality_code, l.name AS locality_name, l.level, r.scheme, r.new_participants, r.reactivations, r.renewals, r.lapses, r.withdrawals, r.contributions, r.contribution_months, r.contribution_vnd, r.campaign_enrolments, r.new_participants_previous_period, r.new_participants_same_period_last_year, r.withdrawals_previous_period, r.withdrawals_same_period_last_year
FROM (
SELECT c.period_type, c.period, c.year, c.period_start, c.period_end,
       lc.ancestor_code AS locality_code, sm.scheme,
       sum(c.new_participants)::bigint AS new_participants,
       sum(c.reactivations)::bigint AS reactivations,
       sum(c.renewals)::bigint AS renewals,
       sum(c.lapses)::bigint AS lapses,
       sum(c.withdrawals)::bigint AS withdrawals,
       sum(c.contributions)::bigint AS contributions,
       sum(c.contribution_months)::bigint AS contribution_months,
       sum(c.contribution_vnd)::bigint AS contribution_vnd,
       sum(c.campaign_enrolments)::bigint AS campaign_enrolments,
       sum(c.new_participants_previous_period)::bigint AS new_participants_previous_period,
       sum(c.new_participants_same_period_last_year)::bigint AS new_participants_same_period_last_year,
       sum(c.withdrawals_previous_period)::bigint AS withdrawals_previous_period,
       sum(c.withdrawals_same_period_last_year)::bigint AS withdrawals_same_period_last_year
FROM (
    SELECT p.period_type, p.period, p.year, p.period_start, p.period_end, f.locality_code, f.scheme,
           coalesce(sum(f.new_participants) FILTER (WHERE f.month >= p.period_start), 0) AS new_participants,
           coalesce(sum(f.reactivations) FILTER (WHERE f.month >= p.period_start), 0) AS reactivations,
           coalesce(sum(f.renewals) FILTER (WHERE f.month >= p.period_start), 0) AS renewals,
           coalesce(sum(f.lapses) FILTER (WHERE f.month >= p.period_start), 0) AS lapses,
           coalesce(sum(f.withdrawals) FILTER (WHERE f.month >= p.period_start), 0) AS withdrawals,
           coalesce(sum(f.contributions) FILTER (WHERE f.month >= p.period_start), 0) AS contributions,
           coalesce(sum(f.contribution_months) FILTER (WHERE f.month >= p.period_start), 0) AS contribution_months,
           coalesce(sum(f.contribution_vnd) FILTER (WHERE f.month >= p.period_start), 0) AS contribution_vnd,
           coalesce(sum(f.campaign_enrolments) FILTER (WHERE f.month >= p.period_start), 0) AS campaign_enrolments,
           coalesce(sum(f.new_participants) FILTER (WHERE f.month BETWEEN p.prev_start AND p.prev_end), 0) AS new_participants_previous_period,
           coalesce(sum(f.new_participants) FILTER (WHERE f.month BETWEEN p.ly_start AND p.ly_end), 0) AS new_participants_same_period_last_year,
           coalesce(sum(f.withdrawals) FILTER (WHERE f.month BETWEEN p.prev_start AND p.prev_end), 0) AS withdrawals_previous_period,
           coalesce(sum(f.withdrawals) FILTER (WHERE f.month BETWEEN p.ly_start AND p.ly_end), 0) AS withdrawals_same_period_last_year
    FROM report_periods p
    JOIN agg_flows f ON f.month BETWEEN least(p.prev_start, p.ly_start) AND p.period_end
    GROUP BY p.period_type, p.period, p.year, p.period_start, p.period_end, f.locality_code, f.scheme
) c
JOIN locality_closure lc ON lc.descendant_code = c.locality_code
JOIN report_scheme_members sm ON sm.member = c.scheme
GROUP BY c.period_type, c.period, c.year, c.period_start, c.period_end, lc.ancestor_code, sm.scheme
) r
JOIN localities l ON l.code = r.locality_code;

COMMENT ON VIEW reporting_base.stock IS 'Internal: active at period end (and the previous period, a year earlier) per locality and scheme, zero or not; listed = the locality has a denominator of the scheme for the year. reporting.stock shows its rows with something in them.';
COMMENT ON VIEW reporting_base.flows IS 'Internal: flows per period, locality and scheme, zero or not. reporting.flows shows its rows with something in them.';

CREATE OR REPLACE VIEW reporting.stock AS
SELECT period_type, period, year, period_start, period_end, locality_code, locality_name, level, scheme,
       active, active_previous_period, active_same_period_last_year
FROM reporting_base.stock
WHERE active <> 0 OR active_previous_period <> 0 OR active_same_period_last_year <> 0 OR listed;

CREATE OR REPLACE VIEW reporting.flows AS
SELECT period_type, period, year, period_start, period_end, locality_code, locality_name, level, scheme,
       new_participants, reactivations, renewals, lapses, withdrawals, contributions, contribution_months,
       contribution_vnd, campaign_enrolments, new_participants_previous_period,
       new_participants_same_period_last_year, withdrawals_previous_period, withdrawals_same_period_last_year
FROM reporting_base.flows
WHERE new_participants <> 0 OR reactivations <> 0 OR renewals <> 0 OR lapses <> 0 OR withdrawals <> 0
   OR contributions <> 0 OR contribution_months <> 0 OR contribution_vnd <> 0 OR campaign_enrolments <> 0
   OR new_participants_previous_period <> 0 OR new_participants_same_period_last_year <> 0
   OR withdrawals_previous_period <> 0 OR withdrawals_same_period_last_year <> 0;

-- Coverage has no comparison column: a locality whose active count fell to 0 has nothing in it
-- here, unless a denominator of the scheme lists it (coverage 0 %).
CREATE OR REPLACE VIEW reporting.coverage AS
SELECT s.period_type, s.period, s.year, s.period_start, s.period_end,
       s.locality_code, s.locality_name, s.level, s.scheme, s.active,
       dm.measure AS denominator_measure, d.value AS denominator,
       CASE WHEN dm.measure IS NULL THEN NULL WHEN d.value IS NULL THEN 'missing' ELSE d.flag END AS denominator_flag,
       round(100.0 * s.active / nullif(d.value, 0), 2) AS coverage_pct
FROM reporting_base.stock s
LEFT JOIN report_scheme_denominators dm ON dm.scheme = s.scheme
LEFT JOIN reporting.denominators d
       ON d.locality_code = s.locality_code AND d.year = s.year AND d.measure = dm.measure
WHERE s.active <> 0 OR s.listed;

CREATE OR REPLACE VIEW reporting.growth AS
SELECT g.period_type, g.period, g.year, g.period_start, g.period_end,
       g.locality_code, g.locality_name, g.level, g.scheme,
       g.active, g.active_previous_period,
       round(100.0 * (g.active - g.active_previous_period) / nullif(g.active_previous_period, 0), 2) AS active_change_vs_previous_period_pct,
       g.active_same_period_last_year,
       round(100.0 * (g.active - g.active_same_period_last_year) / nullif(g.active_same_period_last_year, 0), 2) AS active_change_vs_last_year_pct,
       g.new_participants,
       g.reactivations,
       g.new_participants_previous_period,
       round(100.0 * (g.new_participants - g.new_participants_previous_period) / nullif(g.new_participants_previous_period, 0), 2) AS new_participants_change_vs_previous_period_pct,
       g.new_participants_same_period_last_year,
       round(100.0 * (g.new_participants - g.new_participants_same_period_last_year) / nullif(g.new_participants_same_period_last_year, 0), 2) AS new_participants_change_vs_last_year_pct
FROM (
    SELECT u.period_type, u.period, u.year, u.period_start, u.period_end,
           u.locality_code, u.locality_name, u.level, u.scheme,
           sum(u.active)::bigint AS active,
           sum(u.active_previous_period)::bigint AS active_previous_period,
           sum(u.active_same_period_last_year)::bigint AS active_same_period_last_year,
           sum(u.new_participants)::bigint AS new_participants,
           sum(u.reactivations)::bigint AS reactivations,
           sum(u.new_participants_previous_period)::bigint AS new_participants_previous_period,
           sum(u.new_participants_same_period_last_year)::bigint AS new_participants_same_period_last_year
    FROM (
        SELECT s.period_type, s.period, s.year, s.period_start, s.period_end,
               s.locality_code, s.locality_name, s.level, s.scheme,
               s.active, s.active_previous_period, s.active_same_period_last_year,
               0::bigint AS new_participants, 0::bigint AS reactivations,
               0::bigint AS new_participants_previous_period, 0::bigint AS new_participants_same_period_last_year
        FROM reporting.stock s
        UNION ALL
        SELECT f.period_type, f.period, f.year, f.period_start, f.period_end,
               f.locality_code, f.locality_name, f.level, f.scheme,
               0, 0, 0,
               f.new_participants, f.reactivations, f.new_participants_previous_period, f.new_participants_same_period_last_year
        FROM reporting_base.flows f
        WHERE f.new_participants <> 0 OR f.reactivations <> 0 OR f.new_participants_previous_period <> 0
           OR f.new_participants_same_period_last_year <> 0
    ) u
    GROUP BY u.period_type, u.period, u.year, u.period_start, u.period_end,
             u.locality_code, u.locality_name, u.level, u.scheme
) g;

CREATE OR REPLACE VIEW reporting.withdrawals AS
SELECT period_type, period, year, period_start, period_end, locality_code, locality_name, level, scheme,
       withdrawals, withdrawals_previous_period,
       withdrawals - withdrawals_previous_period AS change_vs_previous_period,
       round(100.0 * (withdrawals - withdrawals_previous_period) / nullif(withdrawals_previous_period, 0), 2) AS change_vs_previous_period_pct,
       withdrawals_same_period_last_year,
       round(100.0 * (withdrawals - withdrawals_same_period_last_year) / nullif(withdrawals_same_period_last_year, 0), 2) AS change_vs_last_year_pct
FROM reporting_base.flows
WHERE withdrawals <> 0 OR withdrawals_previous_period <> 0 OR withdrawals_same_period_last_year <> 0;

CREATE OR REPLACE VIEW reporting.outreach AS
SELECT o.period_type, o.period, o.year, o.period_start, o.period_end,
       o.locality_code, o.locality_name, o.level, o.campaign,
       o.conferences,
       CASE WHEN o.period_type = 'year' AND o.campaign = '*' THEN t.target_count END AS conferences_planned,
       o.attendees, o.cost_vnd, o.enrolments,
       round(o.enrolments::numeric / nullif(o.conferences, 0), 2) AS enrolments_per_conference,
       round(o.cost_vnd::numeric / nullif(o.enrolments, 0), 0) AS cost_per_enrolment_vnd
FROM (
    SELECT x.period_type, x.period, x.year, x.period_start, x.period_end,
           lc.ancestor_code AS locality_code, l.name AS locality_name, l.level, x.campaign,
           sum(x.conferences)::bigint AS conferences, sum(x.attendees)::bigint AS attendees,
           sum(x.cost_vnd)::bigint AS cost_vnd, sum(x.enrolments)::bigint AS enrolments
    FROM (
        SELECT p.period_type, p.period, p.year, p.period_start, p.period_end, o.locality_code, o.campaign,
               sum(o.conferences) AS conferences, sum(o.attendees) AS attendees, sum(o.cost_vnd) AS cost_vnd,
               0 AS enrolments
        FROM report_periods p JOIN agg_outreach o ON o.month BETWEEN p.period_start AND p.period_end
        GROUP BY p.period_type, p.period, p.year, p.period_start, p.period_end, o.locality_code, o.campaign
        UNION ALL
        SELECT p.period_type, p.period, p.year, p.period_start, p.period_end, o.locality_code, '*'::text,
               sum(o.conferences), sum(o.attendees), sum(o.cost_vnd), 0
        FROM report_periods p JOIN agg_outreach o ON o.month BETWEEN p.period_start AND p.period_end
        GROUP BY p.period_type, p.period, p.year, p.period_start, p.period_end, o.locality_code
        UNION ALL
        SELECT p.period_type, p.period, p.year, p.period_start, p.period_end, e.locality_code, e.campaign,
               0, 0, 0, sum(e.new_participants + e.reactivations)
        FROM report_periods p JOIN agg_campaign_enrolments e ON e.month BETWEEN p.period_start AND p.period_end
        GROUP BY p.period_type, p.period, p.year, p.period_start, p.period_end, e.locality_code, e.campaign
        UNION ALL
        SELECT p.period_type, p.period, p.year, p.period_start, p.period_end, e.locality_code, '*'::text,
               0, 0, 0, sum(e.new_participants + e.reactivations)
        FROM report_periods p JOIN agg_campaign_enrolments e ON e.month BETWEEN p.period_start AND p.period_end
        GROUP BY p.period_type, p.period, p.year, p.period_start, p.period_end, e.locality_code
    ) x
    JOIN locality_closure lc ON lc.descendant_code = x.locality_code
    JOIN localities l ON l.code = lc.ancestor_code
    GROUP BY x.period_type, x.period, x.year, x.period_start, x.period_end, lc.ancestor_code, l.name, l.level, x.campaign
    HAVING sum(x.conferences) <> 0 OR sum(x.attendees) <> 0 OR sum(x.cost_vnd) <> 0 OR sum(x.enrolments) <> 0
) o
LEFT JOIN targets t
       ON t.locality_code = o.locality_code AND t.year = o.year AND t.subject = 'conferences';

CREATE OR REPLACE VIEW reporting.flows_by_agent AS
SELECT r.period_type, r.period, r.year, r.period_start, r.period_end,
       r.locality_code, l.name AS locality_name, l.level, r.scheme, r.channel, r.agent_id, r.new_participants, r.reactivations, r.renewals, r.lapses, r.withdrawals, r.contribution_vnd
FROM (
SELECT c.period_type, c.period, c.year, c.period_start, c.period_end,
       lc.ancestor_code AS locality_code, sm.scheme,
       c.channel, c.agent_id,
       sum(c.new_participants)::bigint AS new_participants, sum(c.reactivations)::bigint AS reactivations,
       sum(c.renewals)::bigint AS renewals, sum(c.lapses)::bigint AS lapses,
       sum(c.withdrawals)::bigint AS withdrawals, sum(c.contribution_vnd)::bigint AS contribution_vnd
FROM (
    SELECT p.period_type, p.period, p.year, p.period_start, p.period_end,
           f.locality_code, f.scheme, f.channel, f.agent_id,
           sum(f.new_participants) AS new_participants, sum(f.reactivations) AS reactivations,
           sum(f.renewals) AS renewals, sum(f.lapses) AS lapses, sum(f.withdrawals) AS withdrawals,
           sum(f.contribution_vnd) AS contribution_vnd
    FROM report_periods p JOIN agg_flows f ON f.month BETWEEN p.period_start AND p.period_end
    GROUP BY p.period_type, p.period, p.year, p.period_start, p.period_end,
             f.locality_code, f.scheme, f.channel, f.agent_id
) c
JOIN locality_closure lc ON lc.descendant_code = c.locality_code
JOIN report_scheme_members sm ON sm.member = c.scheme
GROUP BY c.period_type, c.period, c.year, c.period_start, c.period_end, lc.ancestor_code,
         sm.scheme, c.channel, c.agent_id
-- (contributions, their months and campaign enrolments are never non-zero alone: money is at
-- least 1 VND and a campaign enrolment is a new participant or a re-activation)
HAVING sum(c.new_participants) <> 0 OR sum(c.reactivations) <> 0 OR sum(c.renewals) <> 0
    OR sum(c.lapses) <> 0 OR sum(c.withdrawals) <> 0 OR sum(c.contribution_vnd) <> 0
) r
JOIN localities l ON l.code = r.locality_code;

CREATE OR REPLACE VIEW reporting.active_by_sex_age AS
SELECT r.period_type, r.period, r.year, r.period_start, r.period_end,
       r.locality_code, l.name AS locality_name, l.level, r.scheme, r.sex, r.age_band, r.active
FROM (
SELECT c.period_type, c.period, c.year, c.period_start, c.period_end,
       lc.ancestor_code AS locality_code, sm.scheme, c.sex, c.age_band,
       coalesce(sum(c.active), 0)::bigint AS active
FROM (
    SELECT p.period_type, p.period, p.year, p.period_start, p.period_end, a.locality_code, a.scheme, a.sex,
           age_band(a.birth_year, p.year) AS age_band, sum(a.delta) AS active
    FROM report_periods p
    JOIN agg_active_changes_by_person a ON a.month <= p.period_end
    GROUP BY p.period_type, p.period, p.year, p.period_start, p.period_end, a.locality_code, a.scheme, a.sex,
             age_band(a.birth_year, p.year)
) c
JOIN locality_closure lc ON lc.descendant_code = c.locality_code
JOIN report_scheme_members sm ON sm.member = c.scheme
GROUP BY c.period_type, c.period, c.year, c.period_start, c.period_end, lc.ancestor_code,
         sm.scheme, c.sex, c.age_band
HAVING sum(c.active) <> 0
) r
JOIN localities l ON l.code = r.locality_code;

COMMENT ON VIEW reporting.stock IS 'Active participants at the end of the period (stock: value at the last month end, never summed across months), per locality of any level and scheme (BHXH = BHXH_BB + BHXH_TN, BHYT = BHYT_HGD + BHYT_KHAC). A row where active, active_previous_period and active_same_period_last_year are all 0 is shown only for a locality with a denominator for the period''s year (the schemes measured against it).';
COMMENT ON VIEW reporting.flows IS 'Flows summed over the period per locality and scheme: new participants, re-activations, renewals, lapses, withdrawals, contributions, campaign enrolments; with the previous period and the same period a year earlier. Only rows with a non-zero value.';
COMMENT ON VIEW reporting.coverage IS 'Coverage: active participants at period end against each denominator of the scheme (in-scope population, labour force of working age, population) for the period''s year. Rows with active participants, and at 0 for a locality with a denominator of the scheme.';
COMMENT ON VIEW reporting.growth IS 'Growth of active and new participants against the previous period and the same period one year earlier: a row wherever reporting.stock has one or reporting.flows has new participants or re-activations (now, a period earlier or a year earlier). For any other base period join reporting.stock to itself.';
COMMENT ON VIEW reporting.withdrawals IS 'Lump-sum withdrawals in the period with the change against the previous period (month over month for months) and against the same period a year earlier. Only rows with withdrawals in one of the three periods.';
COMMENT ON VIEW reporting.outreach IS 'Outreach: conferences held (and planned, for years), attendees, cost, enrolments attributed to campaigns, enrolments per conference and cost per enrolment; campaign ''*'' = all campaigns, '''' = conferences naming none. Only rows with a non-zero value.';
COMMENT ON VIEW reporting.flows_by_agent IS 'Flows per channel and agent (the openIMIS enrolment performance report): new, re-activated, renewed, lapsed, withdrawn participants and money collected. Only agents with a non-zero flow.';
COMMENT ON VIEW reporting.flows_by_channel IS 'Flows per channel (post office, collection organisation, social insurance office, employer), from reporting.flows_by_agent.';
COMMENT ON VIEW reporting.active_by_sex_age IS 'Active participants at period end by sex and age band (age in the period''s year). Only non-zero counts.';
COMMENT ON COLUMN reporting.flows_by_channel.agents IS 'number of agents with a non-zero flow in the channel';
