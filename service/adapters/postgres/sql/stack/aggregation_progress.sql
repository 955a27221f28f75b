SELECT last_applied_at, newest_occurred_at, events_applied + conferences_applied FROM aggregation_status
