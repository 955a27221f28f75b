-- Durability before 202 (docs/durability.md). The API stores every event it accepts here and
-- commits before it answers 202; it then publishes the record. The consumer deletes a row in
-- the transaction that stores the same event (same content digest) in the event store. The
-- relay publishes again what is still here: never acknowledged by the broker (it was down, or
-- the API died between commit and send), or acknowledged before the broker lost it (a memory
-- broker restarted: `broker_resets`), or unapplied for longer than the safety net allows.
-- `record_value` is the topic record itself, raw personal ids included: a row lives from the
-- API's answer to the consumer's apply (seconds), it is not history.
CREATE TABLE event_outbox (
    event_id       uuid        PRIMARY KEY,
    content_digest bytea       NOT NULL,
    record_key     bytea       NOT NULL,
    record_value   bytea       NOT NULL,
    kind           text        NOT NULL,
    accepted_at    timestamptz NOT NULL DEFAULT now(),
    published_at   timestamptz  -- the last acknowledged publish (API or relay); NULL = none yet
);
CREATE INDEX event_outbox_published_idx ON event_outbox (published_at NULLS FIRST);

-- Moments at which the broker may have lost acknowledged records: an embedded (memory) broker
-- started, or a worker found its position beyond a partition's end.
CREATE TABLE broker_resets (
    reset_at timestamptz NOT NULL DEFAULT now(),
    reason   text        NOT NULL
);
