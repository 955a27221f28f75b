-- An id inserted although the statement's snapshot saw it in the outbox: an apply stored the event
-- and deleted that row after the snapshot was taken, so admit.sql's `stored` missed it. Read again
-- (a new snapshot, in the same transaction: it sees that apply's commit, which the INSERT waited
-- for or came after), and the copy inserted just now goes: it is the stored event's duplicate or
-- a conflict, never a row that no apply would delete. Rare: one more statement only then.
WITH stored AS (
    {stored_events}
), undone AS (
    DELETE FROM event_outbox o USING stored s WHERE o.event_id = s.event_id
)
SELECT event_id, content_digest FROM stored
