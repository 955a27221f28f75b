INSERT INTO consumer_offsets (consumer_group, topic, partition, next_offset, updated_at)
SELECT %s, * , now() FROM unnest(%s::text[], %s::int[], %s::bigint[])
ON CONFLICT (consumer_group, topic, partition) DO UPDATE SET
    next_offset = greatest(consumer_offsets.next_offset, EXCLUDED.next_offset),
    updated_at = EXCLUDED.updated_at
