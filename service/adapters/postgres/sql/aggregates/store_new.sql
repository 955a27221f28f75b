-- Dedupe by event_id, before the apply lock: storing the events needs no shared state, so
-- another worker's apply runs meanwhile. A duplicate of an event that another transaction
-- has inserted and not yet committed waits for that commit here (then skips it), and that
-- transaction never waits for this one's rows: the apply lock's holder writes only the
-- aggregate tables, not the event store.
WITH inserted AS (
    INSERT INTO {store} SELECT * FROM {staging}
    ON CONFLICT (event_id) DO NOTHING
    RETURNING *
)
INSERT INTO {inserted} SELECT * FROM inserted
