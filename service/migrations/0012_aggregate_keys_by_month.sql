-- Flow keys lead with the month (issue "Aggregation", throughput). agg_flows gains about one
-- row per event; events arrive roughly in time order, so a batch's new rows land together at
-- the recent end of the key index instead of all over it, and the key serves the reporting
-- views' month-range reads: the separate month index, one more entry per new row, goes.
-- (The stock tables keep their locality-first keys: the narrow per-locality stock queries
-- need them, and measured slower month-first.)
ALTER TABLE agg_flows DROP CONSTRAINT agg_flows_pkey,
    ADD PRIMARY KEY (month, locality_code, scheme, channel, agent_id);
DROP INDEX agg_flows_month_idx;

ALTER TABLE agg_campaign_enrolments DROP CONSTRAINT agg_campaign_enrolments_pkey,
    ADD PRIMARY KEY (month, locality_code, scheme, campaign);
