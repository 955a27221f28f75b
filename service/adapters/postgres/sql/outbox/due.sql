-- Never acknowledged and older than the grace (the API's own publish may still be under way),
-- acknowledged before the broker's last reset, or unapplied for longer than the safety net.
SELECT event_id, content_digest, record_key, record_value, kind FROM event_outbox
WHERE (published_at IS NULL AND accepted_at < now() - make_interval(secs => %(grace_s)s))
   OR published_at < (SELECT max(reset_at) FROM broker_resets)
   OR published_at < now() - make_interval(secs => %(stale_s)s)
ORDER BY accepted_at
LIMIT %(limit)s
