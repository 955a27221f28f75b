-- Outreach on a base roll-up (issue 17), as stock and flows are since 0040.
--
-- reporting.outreach rolled conferences and campaign enrolments up four times: per campaign and
-- again for campaign '*' (all campaigns), from agg_outreach and from agg_campaign_enrolments.
-- reporting_base.outreach rolls them up once, per campaign, every locality with figures, zero
-- or not; the view takes its campaign rows from it and its '*' rows as their sum, then applies
-- the 0040 row rule (shown iff conferences, attendees, cost or enrolments is non-zero) to each.
-- A '*' row sums the same figures as before (over campaigns, then over descendants, instead of
-- the other way round), so the rows and their values are unchanged.
--
-- flows_by_agent and active_by_sex_age keep their own roll-ups: each is the only view at its
-- grain (channel and agent; sex and age band), so a base view of its own would only split it
-- in two.
--
-- The period filter is pushed down as in 0040: through the GROUP BYs (grouped period columns)
-- and the UNION ALL into the base view and on to the calendar. The base view is read once; on
-- the bench's synthetic data (bench/reporting_queries.py) the view took ~0.7 of 0040's time.

CREATE VIEW reporting_base.outreach AS
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
    SELECT p.period_type, p.period, p.year, p.period_start, p.period_end, e.locality_code, e.campaign,
           0, 0, 0, sum(e.new_participants + e.reactivations)
    FROM report_periods p JOIN agg_campaign_enrolments e ON e.month BETWEEN p.period_start AND p.period_end
    GROUP BY p.period_type, p.period, p.year, p.period_start, p.period_end, e.locality_code, e.campaign
) x
JOIN locality_closure lc ON lc.descendant_code = x.locality_code
JOIN localities l ON l.code = lc.ancestor_code
GROUP BY x.period_type, x.period, x.year, x.period_start, x.period_end, lc.ancestor_code, l.name, l.level, x.campaign;

COMMENT ON VIEW reporting_base.outreach IS 'Internal: conferences, attendees, cost and campaign enrolments per period, locality and campaign, zero or not. reporting.outreach shows its rows with something in them, and their sum as campaign ''*''.';

CREATE OR REPLACE VIEW reporting_internal.outreach AS
SELECT o.period_type, o.period, o.year, o.period_start, o.period_end,
       o.locality_code, o.locality_name, o.level, o.campaign,
       o.conferences,
       CASE WHEN o.period_type = 'year' AND o.campaign = '*' THEN t.target_count END AS conferences_planned,
       o.attendees, o.cost_vnd, o.enrolments,
       round(o.enrolments::numeric / nullif(o.conferences, 0), 2) AS enrolments_per_conference,
       round(o.cost_vnd::numeric / nullif(o.enrolments, 0), 0) AS cost_per_enrolment_vnd
FROM (
    -- Each base row counts once for its campaign and once for '*' (all campaigns). The flag keeps
    -- a campaign literally named '*' apart from the total.
    SELECT b.period_type, b.period, b.year, b.period_start, b.period_end, b.locality_code, b.locality_name,
           b.level, c.campaign, sum(b.conferences)::bigint AS conferences, sum(b.attendees)::bigint AS attendees,
           sum(b.cost_vnd)::bigint AS cost_vnd, sum(b.enrolments)::bigint AS enrolments
    FROM reporting_base.outreach b
    CROSS JOIN LATERAL (VALUES (b.campaign, false), ('*'::text, true)) c (campaign, all_campaigns)
    GROUP BY b.period_type, b.period, b.year, b.period_start, b.period_end, b.locality_code, b.locality_name,
             b.level, c.campaign, c.all_campaigns
) o
LEFT JOIN targets t
       ON t.locality_code = o.locality_code AND t.year = o.year AND t.subject = 'conferences'
WHERE o.conferences <> 0 OR o.attendees <> 0 OR o.cost_vnd <> 0 OR o.enrolments <> 0;

SELECT reporting_internal.scope_reporting_views();
