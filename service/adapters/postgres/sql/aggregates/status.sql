UPDATE aggregation_status SET
    last_applied_at = now(),
    newest_occurred_at = CASE WHEN %(newest)s::timestamptz IS NULL THEN newest_occurred_at
                              ELSE greatest(newest_occurred_at, %(newest)s::timestamptz) END,
    events_applied = events_applied + %(applied)s,
    duplicates_skipped = duplicates_skipped + %(duplicates)s,
    conferences_applied = conferences_applied + %(conferences)s,
    retractions_received = retractions_received + %(retractions)s,
    events_retracted = events_retracted + %(retracted)s
