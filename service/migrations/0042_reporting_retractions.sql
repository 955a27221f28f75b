-- Data quality (issue 15): retractions per agent, period and reason. A row counts the
-- retractions judged against events of that agent that occurred in the period, in the locality
-- (any level, rolled up along locality_closure) of the retracted event. Computed at read time
-- from the retractions themselves (few), so it is a function of the set of events like every
-- figure. Retractions still waiting for their event are not in it.
CREATE VIEW reporting.retractions AS
SELECT p.period_type, p.period, p.year, p.period_start, p.period_end,
       lc.ancestor_code AS locality_code, l.name AS locality_name, l.level,
       r.target_channel AS channel, r.target_agent_id AS agent_id, r.reason,
       count(*) FILTER (WHERE r.verdict = 'applied')::bigint AS retractions,
       count(DISTINCT r.retracts) FILTER (WHERE r.verdict = 'applied')::bigint AS retracted_events,
       count(DISTINCT r.retracts) FILTER (WHERE r.verdict = 'applied' AND r.target_kind = 'conference')::bigint
           AS retracted_conferences,
       count(*) FILTER (WHERE r.verdict = 'applied' AND r.supervisor_id IS NOT NULL)::bigint AS by_supervisor,
       count(*) FILTER (WHERE r.verdict = 'refused')::bigint AS refused
FROM report_periods p
JOIN event_retractions r ON r.target_month BETWEEN p.period_start AND p.period_end AND r.verdict IS NOT NULL
JOIN locality_closure lc ON lc.descendant_code = r.target_locality
JOIN localities l ON l.code = lc.ancestor_code
GROUP BY p.period_type, p.period, p.year, p.period_start, p.period_end, lc.ancestor_code, l.name, l.level,
         r.target_channel, r.target_agent_id, r.reason;

COMMENT ON VIEW reporting.retractions IS 'Data quality: retractions (corrections) of each agent''s events, by the period the retracted event occurred in, its locality (any level) and the reason. Filter on period_type and period.';
COMMENT ON COLUMN reporting.retractions.period_type IS 'month, quarter, year or ytd (year to date)';
COMMENT ON COLUMN reporting.retractions.period IS 'period label: 2024-02, 2024-Q1, 2024 or 2024-02-YTD';
COMMENT ON COLUMN reporting.retractions.year IS 'calendar year the period ends in';
COMMENT ON COLUMN reporting.retractions.period_start IS 'first day of the period''s first month (Asia/Ho_Chi_Minh)';
COMMENT ON COLUMN reporting.retractions.period_end IS 'first day of the period''s last month';
COMMENT ON COLUMN reporting.retractions.locality_code IS 'locality of any level of the retracted events; figures include all its descendants';
COMMENT ON COLUMN reporting.retractions.locality_name IS 'locality name';
COMMENT ON COLUMN reporting.retractions.level IS 'nation, province, district or commune';
COMMENT ON COLUMN reporting.retractions.channel IS 'channel of the agent that sent the retracted events';
COMMENT ON COLUMN reporting.retractions.agent_id IS 'the agent that sent the retracted events';
COMMENT ON COLUMN reporting.retractions.reason IS 'reason code of the retraction: wrong_person, wrong_locality, wrong_details, duplicate_entry, did_not_happen, other';
COMMENT ON COLUMN reporting.retractions.retractions IS 'retractions applied (a second retraction of one event counts here, not in the figures)';
COMMENT ON COLUMN reporting.retractions.retracted_events IS 'distinct events retracted: they no longer count in any figure';
COMMENT ON COLUMN reporting.retractions.retracted_conferences IS 'of which conferences';
COMMENT ON COLUMN reporting.retractions.by_supervisor IS 'retractions made by a supervisor rather than by the agent';
COMMENT ON COLUMN reporting.retractions.refused IS 'retractions refused: sent by someone who may not retract the event (dead-lettered)';
GRANT SELECT ON reporting.retractions TO reporting_reader;
