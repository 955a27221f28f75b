-- Qualified: a rebuild's connection puts its own schema first, and the offsets stay live.
SELECT topic, partition, next_offset FROM public.consumer_offsets WHERE consumer_group = %s
