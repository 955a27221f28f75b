-- The data-modifying CTE's rows are invisible to the rest of the statement, so `outbox` below
-- reads only rows that were there before: exactly the earlier acceptances.
WITH incoming AS (
    SELECT * FROM unnest(%(ids)s::uuid[], %(digests)s::bytea[], %(keys)s::bytea[], %(values)s::bytea[],
                         %(kinds)s::text[]) AS t(event_id, content_digest, record_key, record_value, kind)
), stored AS (
    {stored_events}
), inserted AS (
    INSERT INTO event_outbox (event_id, content_digest, record_key, record_value, kind)
    SELECT i.* FROM incoming i WHERE NOT EXISTS (SELECT FROM stored s WHERE s.event_id = i.event_id)
    ON CONFLICT (event_id) DO NOTHING
    RETURNING event_id
)
SELECT i.event_id, EXISTS (SELECT FROM inserted n WHERE n.event_id = i.event_id) AS new,
       coalesce(s.content_digest, o.content_digest) AS known_digest
FROM incoming i
LEFT JOIN stored s USING (event_id)
LEFT JOIN event_outbox o USING (event_id)
