-- The `reporting` schema (issue 4): documented views over the agg_* tables (0003), the locality
-- tree and the reference data (0020). Every view is keyed by (period_type, period) from
-- reporting.periods and by a locality of ANY level (rolled up along locality_closure).
--
-- Speed: each view aggregates per commune first, inside a subquery grouped by the period
-- columns, then rolls the (small) per-commune result up the tree. A filter on period_type and
-- period is therefore pushed down to the calendar and only that period's months are read.
-- Stocks (active) are running sums of agg_active_changes.delta up to the period's last month,
-- never sums across months; flows are summed over the period's months.

CREATE SCHEMA reporting;
COMMENT ON SCHEMA reporting IS 'Coverage reports for SQL clients (read with the reporting_reader role). Filter on period_type and period.';

-- ------------------------------------------------------------------ dimensions

CREATE VIEW reporting.periods AS
SELECT period_type, period, year, period_start, period_end, previous_period, same_period_last_year
FROM report_periods;

CREATE VIEW reporting.localities AS
SELECT l.code, l.name, l.level, l.parent_code,
       (SELECT max(c.depth) FROM locality_closure c WHERE c.descendant_code = l.code)::int AS depth
FROM localities l;

-- ------------------------------------------------------------------ reference data

CREATE VIEW reporting.denominators AS
SELECT d.locality_code, l.name AS locality_name, l.level, d.year, d.measure, d.value, d.source,
       ch.children_sum, ch.children_with_value, par.value AS parent_value,
       NULLIF(concat_ws(',',
           CASE WHEN d.value = 0 THEN 'zero' END,
           CASE WHEN ch.children_sum > 1.10 * d.value THEN 'children_sum_exceeds_value_by_more_than_10pct' END,
           CASE WHEN par.value IS NOT NULL AND d.value > par.value THEN 'exceeds_parent_value' END,
           CASE WHEN d.measure <> 'population' AND pop.value IS NOT NULL AND d.value > pop.value
                THEN 'exceeds_population' END,
           CASE WHEN d.measure IN ('in_scope_bhxh_bb', 'in_scope_bhtn') AND lf.value IS NOT NULL
                     AND d.value > lf.value THEN 'exceeds_labour_force' END
       ), '') AS flag
FROM denominators d
JOIN localities l ON l.code = d.locality_code
LEFT JOIN (
    SELECT cl.parent_code, c.year, c.measure, sum(c.value) AS children_sum, count(*) AS children_with_value
    FROM denominators c JOIN localities cl ON cl.code = c.locality_code
    WHERE cl.parent_code IS NOT NULL
    GROUP BY cl.parent_code, c.year, c.measure
) ch ON ch.parent_code = d.locality_code AND ch.year = d.year AND ch.measure = d.measure
LEFT JOIN denominators par ON par.locality_code = l.parent_code AND par.year = d.year AND par.measure = d.measure
LEFT JOIN denominators pop ON pop.locality_code = d.locality_code AND pop.year = d.year AND pop.measure = 'population'
LEFT JOIN denominators lf ON lf.locality_code = d.locality_code AND lf.year = d.year AND lf.measure = 'labour_force';

CREATE VIEW reporting.targets AS
SELECT t.locality_code, l.name AS locality_name, l.level, t.year, t.subject, t.basis,
       t.target_count, t.target_rate_pct, t.denominator_measure, t.source
FROM targets t JOIN localities l ON l.code = t.locality_code;

-- ------------------------------------------------------------------ facts

CREATE VIEW reporting.stock AS
SELECT r.period_type, r.period, r.year, r.period_start, r.period_end,
       r.locality_code, l.name AS locality_name, l.level, r.scheme, r.active, r.active_previous_period, r.active_same_period_last_year
FROM (
SELECT c.period_type, c.period, c.year, c.period_start, c.period_end,
       lc.ancestor_code AS locality_code, sm.scheme,
       coalesce(sum(c.active), 0)::bigint AS active,
       coalesce(sum(c.active_previous_period), 0)::bigint AS active_previous_period,
       coalesce(sum(c.active_same_period_last_year), 0)::bigint AS active_same_period_last_year
FROM (
    SELECT p.period_type, p.period, p.year, p.period_start, p.period_end, a.locality_code, a.scheme,
           sum(a.delta) FILTER (WHERE a.month <= p.period_end) AS active,
           sum(a.delta) FILTER (WHERE a.month <= p.prev_end) AS active_previous_period,
           sum(a.delta) FILTER (WHERE a.month <= p.ly_end) AS active_same_period_last_year
    FROM report_periods p
    JOIN agg_active_changes a ON a.month <= p.period_end
    GROUP BY p.period_type, p.period, p.year, p.period_start, p.period_end, a.locality_code, a.scheme
    UNION ALL
    -- A zero for every locality with a denominator in the period's year: a locality where nobody
    -- is active yet is listed with 0 (coverage 0 %, where outreach is needed most), not left out.
    SELECT DISTINCT p.period_type, p.period, p.year, p.period_start, p.period_end, d.locality_code, sm.member, 0, 0, 0
    FROM report_periods p
    JOIN denominators d ON d.year = p.year
    JOIN report_scheme_denominators dm ON dm.measure = d.measure
    JOIN report_scheme_members sm ON sm.scheme = dm.scheme
) c
JOIN locality_closure lc ON lc.descendant_code = c.locality_code
JOIN report_scheme_members sm ON sm.member = c.scheme
GROUP BY c.period_type, c.period, c.year, c.period_start, c.period_end, lc.ancestor_code, sm.scheme
) r
JOIN localities l ON l.code = r.locality_code;

CREATE VIEW reporting.flows AS
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

-- ------------------------------------------------------------------ indicators

CREATE VIEW reporting.coverage AS
SELECT s.period_type, s.period, s.year, s.period_start, s.period_end,
       s.locality_code, s.locality_name, s.level, s.scheme, s.active,
       dm.measure AS denominator_measure, d.value AS denominator,
       CASE WHEN dm.measure IS NULL THEN NULL WHEN d.value IS NULL THEN 'missing' ELSE d.flag END AS denominator_flag,
       round(100.0 * s.active / nullif(d.value, 0), 2) AS coverage_pct
FROM reporting.stock s
LEFT JOIN report_scheme_denominators dm ON dm.scheme = s.scheme
LEFT JOIN reporting.denominators d
       ON d.locality_code = s.locality_code AND d.year = s.year AND d.measure = dm.measure;

CREATE VIEW reporting.growth AS
SELECT s.period_type, s.period, s.year, s.period_start, s.period_end,
       s.locality_code, s.locality_name, s.level, s.scheme,
       s.active, s.active_previous_period,
       round(100.0 * (s.active - s.active_previous_period) / nullif(s.active_previous_period, 0), 2) AS active_change_vs_previous_period_pct,
       s.active_same_period_last_year,
       round(100.0 * (s.active - s.active_same_period_last_year) / nullif(s.active_same_period_last_year, 0), 2) AS active_change_vs_last_year_pct,
       coalesce(f.new_participants, 0) AS new_participants,
       coalesce(f.reactivations, 0) AS reactivations,
       coalesce(f.new_participants_previous_period, 0) AS new_participants_previous_period,
       round(100.0 * (f.new_participants - f.new_participants_previous_period) / nullif(f.new_participants_previous_period, 0), 2) AS new_participants_change_vs_previous_period_pct,
       coalesce(f.new_participants_same_period_last_year, 0) AS new_participants_same_period_last_year,
       round(100.0 * (f.new_participants - f.new_participants_same_period_last_year) / nullif(f.new_participants_same_period_last_year, 0), 2) AS new_participants_change_vs_last_year_pct
FROM reporting.stock s
LEFT JOIN reporting.flows f
       ON f.period_type = s.period_type AND f.period = s.period
      AND f.locality_code = s.locality_code AND f.scheme = s.scheme;

CREATE VIEW reporting.withdrawals AS
SELECT period_type, period, year, period_start, period_end, locality_code, locality_name, level, scheme,
       withdrawals, withdrawals_previous_period,
       withdrawals - withdrawals_previous_period AS change_vs_previous_period,
       round(100.0 * (withdrawals - withdrawals_previous_period) / nullif(withdrawals_previous_period, 0), 2) AS change_vs_previous_period_pct,
       withdrawals_same_period_last_year,
       round(100.0 * (withdrawals - withdrawals_same_period_last_year) / nullif(withdrawals_same_period_last_year, 0), 2) AS change_vs_last_year_pct
FROM reporting.flows;

CREATE VIEW reporting.outreach AS
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
) o
LEFT JOIN targets t
       ON t.locality_code = o.locality_code AND t.year = o.year AND t.subject = 'conferences';

CREATE VIEW reporting.plan_attainment AS
SELECT t.year, t.locality_code, l.name AS locality_name, l.level, t.subject, t.basis,
       t.target_count, t.target_rate_pct, t.denominator_measure, d.value AS denominator,
       CASE WHEN t.denominator_measure IS NULL THEN NULL WHEN d.value IS NULL THEN 'missing' ELSE d.flag END AS denominator_flag,
       coalesce(t.target_count, round(t.target_rate_pct * d.value / 100))::bigint AS target_value,
       coalesce(s.active, f.new_participants, o.conferences, 0) AS achieved,
       round(100.0 * coalesce(s.active, f.new_participants, o.conferences, 0) / nullif(d.value, 0), 2) AS achieved_rate_pct,
       round(100.0 * coalesce(s.active, f.new_participants, o.conferences, 0)
             / nullif(coalesce(t.target_count, t.target_rate_pct * d.value / 100), 0), 2) AS attainment_pct
FROM targets t
JOIN localities l ON l.code = t.locality_code
LEFT JOIN reporting.denominators d
       ON d.locality_code = t.locality_code AND d.year = t.year AND d.measure = t.denominator_measure
LEFT JOIN reporting.stock s
       ON t.basis = 'active' AND s.period_type = 'year' AND s.year = t.year
      AND s.locality_code = t.locality_code AND s.scheme = t.subject
LEFT JOIN reporting.flows f
       ON t.basis = 'new' AND f.period_type = 'year' AND f.year = t.year
      AND f.locality_code = t.locality_code AND f.scheme = t.subject
LEFT JOIN reporting.outreach o
       ON t.basis = 'held' AND o.period_type = 'year' AND o.year = t.year
      AND o.locality_code = t.locality_code AND o.campaign = '*';

-- ------------------------------------------------------------------ breakdowns

CREATE VIEW reporting.flows_by_agent AS
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
) r
JOIN localities l ON l.code = r.locality_code;

CREATE VIEW reporting.flows_by_channel AS
SELECT period_type, period, year, period_start, period_end, locality_code, locality_name, level, scheme, channel,
       count(DISTINCT agent_id) AS agents,
       sum(new_participants)::bigint AS new_participants, sum(reactivations)::bigint AS reactivations,
       sum(renewals)::bigint AS renewals, sum(lapses)::bigint AS lapses,
       sum(withdrawals)::bigint AS withdrawals, sum(contribution_vnd)::bigint AS contribution_vnd
FROM reporting.flows_by_agent
GROUP BY period_type, period, year, period_start, period_end, locality_code, locality_name, level, scheme, channel;

CREATE VIEW reporting.active_by_sex_age AS
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
) r
JOIN localities l ON l.code = r.locality_code;

-- ------------------------------------------------------------------ documentation

COMMENT ON VIEW reporting.periods IS 'The period calendar: months (2024-02), quarters (2024-Q1), years (2024) and years to date (2024-02-YTD), 2000-2060.';
COMMENT ON VIEW reporting.localities IS 'The locality tree (nation > province > (district >) commune) for drill-down.';
COMMENT ON VIEW reporting.denominators IS 'Denominators per locality, year and measure, with plausibility flags. A flagged or missing denominator is shown beside every rate that uses it.';
COMMENT ON VIEW reporting.targets IS 'Plan targets per locality, year and subject (scheme, derived total, or conferences), as a count or a percentage of a denominator.';
COMMENT ON VIEW reporting.stock IS 'Active participants at the end of the period (stock: value at the last month end, never summed across months), per locality of any level and scheme (BHXH = BHXH_BB + BHXH_TN, BHYT = BHYT_HGD + BHYT_KHAC).';
COMMENT ON VIEW reporting.flows IS 'Flows summed over the period per locality and scheme: new participants, re-activations, renewals, lapses, withdrawals, contributions, campaign enrolments; with the previous period and the same period a year earlier.';
COMMENT ON VIEW reporting.coverage IS 'Coverage: active participants at period end against each denominator of the scheme (in-scope population, labour force of working age, population) for the period''s year.';
COMMENT ON VIEW reporting.growth IS 'Growth of active and new participants against the previous period and the same period one year earlier. For any other base period join reporting.stock to itself.';
COMMENT ON VIEW reporting.withdrawals IS 'Lump-sum withdrawals in the period with the change against the previous period (month over month for months) and against the same period a year earlier.';
COMMENT ON VIEW reporting.outreach IS 'Outreach: conferences held (and planned, for years), attendees, cost, enrolments attributed to campaigns, enrolments per conference and cost per enrolment; campaign ''*'' = all campaigns, '''' = conferences naming none.';
COMMENT ON VIEW reporting.plan_attainment IS 'Plan attainment per target: achieved (active at year end, new participants in the year, or conferences held) against the target count or rate. Filter on year.';
COMMENT ON VIEW reporting.flows_by_agent IS 'Flows per channel and agent (the openIMIS enrolment performance report): new, re-activated, renewed, lapsed, withdrawn participants and money collected.';
COMMENT ON VIEW reporting.flows_by_channel IS 'Flows per channel (post office, collection organisation, social insurance office, employer).';
COMMENT ON VIEW reporting.active_by_sex_age IS 'Active participants at period end by sex and age band (age in the period''s year).';

DO $$
DECLARE
    doc record;
BEGIN
    FOR doc IN SELECT c.table_name, d.column_name, d.comment FROM (VALUES
        ('period_type', 'month, quarter, year or ytd (year to date)'),
        ('period', 'period label: 2024-02, 2024-Q1, 2024 or 2024-02-YTD'),
        ('year', 'calendar year the period ends in; denominators and targets of this year apply'),
        ('period_start', 'first day of the period''s first month (Asia/Ho_Chi_Minh)'),
        ('period_end', 'first day of the period''s last month: stocks are read at the end of that month'),
        ('previous_period', 'label of the period of the same type just before'),
        ('same_period_last_year', 'label of the same period one year earlier'),
        ('code', 'official locality code (provinces 2 digits, communes 5 digits, nation VN)'),
        ('name', 'locality name'),
        ('parent_code', 'code of the parent locality (NULL for the nation)'),
        ('depth', 'distance from the root (nation = 0)'),
        ('locality_code', 'locality of any level; figures include all its descendants'),
        ('locality_name', 'locality name'),
        ('level', 'nation, province, district or commune'),
        ('measure', 'labour_force (of working age), population, in_scope_bhxh_bb or in_scope_bhtn'),
        ('value', 'the denominator'),
        ('source', 'where the figure comes from'),
        ('children_sum', 'sum of the direct children''s values for the same year and measure'),
        ('children_with_value', 'how many direct children have a value'),
        ('parent_value', 'the parent locality''s value for the same year and measure'),
        ('flag', 'plausibility flags, comma separated: zero, children_sum_exceeds_value_by_more_than_10pct, exceeds_parent_value, exceeds_population, exceeds_labour_force; NULL = plausible'),
        ('subject', 'scheme, derived total (BHXH, BHYT) or conferences'),
        ('basis', 'active = participants at year end, new = new participants in the year, held = conferences held'),
        ('target_count', 'target as a count (NULL when given as a rate)'),
        ('target_rate_pct', 'target as a percentage of denominator_measure (NULL when given as a count)'),
        ('denominator_measure', 'the denominator this rate is computed against'),
        ('scheme', 'BHXH_BB, BHXH_TN, BHTN, BHYT_HGD, BHYT_KHAC or the derived totals BHXH, BHYT'),
        ('active', 'active participants at the end of the period (stock)'),
        ('active_previous_period', 'active participants at the end of the previous period'),
        ('active_same_period_last_year', 'active participants at the end of the same period one year earlier'),
        ('new_participants', 'first-ever activations in the scheme during the period'),
        ('reactivations', 'participants active again after a lapse or withdrawal during the period'),
        ('renewals', 'renewals while active during the period'),
        ('lapses', 'participants who stopped (lapsed) during the period'),
        ('withdrawals', 'lump-sum withdrawals during the period'),
        ('contributions', 'registered/renewed events that carried a contribution'),
        ('contribution_months', 'months of contribution paid'),
        ('contribution_vnd', 'money collected, VND'),
        ('campaign_enrolments', 'activations that named a campaign'),
        ('new_participants_previous_period', 'new participants in the previous period'),
        ('new_participants_same_period_last_year', 'new participants in the same period one year earlier'),
        ('withdrawals_previous_period', 'withdrawals in the previous period'),
        ('withdrawals_same_period_last_year', 'withdrawals in the same period one year earlier'),
        ('denominator', 'denominator value for the locality, year and measure (NULL when missing)'),
        ('denominator_flag', 'missing, or the plausibility flags of the denominator; NULL = plausible. Rates with a flag must not be used unchecked'),
        ('coverage_pct', 'active / denominator × 100, two decimals'),
        ('active_change_vs_previous_period_pct', '(active − previous period) / previous period × 100'),
        ('active_change_vs_last_year_pct', '(active − same period last year) / same period last year × 100'),
        ('new_participants_change_vs_previous_period_pct', 'change of new participants against the previous period, %'),
        ('new_participants_change_vs_last_year_pct', 'change of new participants against the same period last year, %'),
        ('change_vs_previous_period', 'withdrawals − withdrawals of the previous period'),
        ('change_vs_previous_period_pct', 'change of withdrawals against the previous period, % (month over month for months)'),
        ('change_vs_last_year_pct', 'change of withdrawals against the same period last year, %'),
        ('campaign', 'campaign named by the conferences / enrolments; * = all, empty = none named'),
        ('conferences', 'conferences held in the period'),
        ('conferences_planned', 'conferences planned for the year (targets, subject conferences); year periods only'),
        ('attendees', 'conference attendees'),
        ('cost_vnd', 'conference cost, VND'),
        ('enrolments', 'new participants and re-activations attributed to the campaign(s)'),
        ('enrolments_per_conference', 'enrolments / conferences'),
        ('cost_per_enrolment_vnd', 'cost_vnd / enrolments'),
        ('target_value', 'target as a count: target_count, or target_rate_pct × denominator / 100'),
        ('achieved', 'active at year end, new participants in the year, or conferences held (by basis)'),
        ('achieved_rate_pct', 'achieved / denominator × 100'),
        ('attainment_pct', 'achieved / target_value × 100'),
        ('channel', 'post_office, collection_organisation, social_insurance_office or employer'),
        ('agent_id', 'the collection agent that recorded the events'),
        ('agents', 'number of agents with flows in the channel'),
        ('sex', 'male, female or unknown'),
        ('age_band', 'age band in the period''s year: under_15, 15_24, …, 65_plus, unknown')
    ) AS d(column_name, comment)
    JOIN information_schema.columns c ON c.column_name = d.column_name AND c.table_schema = 'reporting'
    LOOP
        EXECUTE format('COMMENT ON COLUMN reporting.%I.%I IS %L', doc.table_name, doc.column_name, doc.comment);
    END LOOP;
END $$;

-- ------------------------------------------------------------------ read-only role

-- A group role (NOLOGIN) that can read the reporting schema and nothing else: the views run
-- with their owner's rights, so no grant on the underlying tables (events, participants'
-- pseudonyms, aggregates) is needed or given. Grant it to a login role:
--   CREATE ROLE analyst LOGIN PASSWORD '…' IN ROLE reporting_reader;
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'reporting_reader') THEN
        CREATE ROLE reporting_reader NOLOGIN;
    END IF;
END $$;
GRANT USAGE ON SCHEMA reporting TO reporting_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA reporting TO reporting_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA reporting GRANT SELECT ON TABLES TO reporting_reader;
