-- Corrections (issue 15): a `retracted` event names an earlier event that must not count. The
-- figures are those of the set of events minus the retracted ones, whatever the arrival order:
-- a retraction whose event has not arrived yet waits here (verdict NULL) and is judged when the
-- event arrives.
--
-- Every retraction received, once (event_id is its idempotency key). Who sent it: an agent
-- (agent_id, channel) or a supervisor (supervisor_id and its provinces). `verdict`: NULL while
-- the retracted event is unknown; 'applied' (the event no longer counts) or 'refused' (the
-- sender may not retract it: `refusal` says why; the consumer dead-letters the record). The
-- target_* columns copy the retracted event's facts when judged, for the data-quality report
-- (reporting.retractions). `record_value` is the topic record (a retraction carries no
-- participant ids) and source_* where it was read, for a dead letter written when the refusal
-- is known only later.
CREATE TABLE event_retractions (
    event_id         uuid        PRIMARY KEY,
    retracts         uuid        NOT NULL,
    reason           text        NOT NULL,
    note             text,
    occurred_at      timestamptz NOT NULL,
    month            date        NOT NULL,
    locality_code    text        NOT NULL,
    agent_id         text,
    channel          text,
    supervisor_id    text,
    provinces        text[],
    record_value     bytea,
    source_partition integer,
    source_offset    bigint,
    content_digest   bytea,
    verdict          text CHECK (verdict IN ('applied', 'refused')),
    refusal          text,
    target_kind      text,
    target_month     date,
    target_locality  text,
    target_agent_id  text,
    target_channel   text,
    CHECK ((agent_id IS NULL) <> (supervisor_id IS NULL))
);
-- Judging looks up the waiting retractions of the events a batch brings.
CREATE INDEX event_retractions_pending_idx ON event_retractions (retracts) WHERE verdict IS NULL;
CREATE INDEX event_retractions_target_month_idx ON event_retractions (target_month) WHERE verdict IS NOT NULL;

-- A retracted event stays in the store (its id stays taken: a re-sent copy is a duplicate, other
-- content under it a conflict) and no longer counts. NULL = counts: the apply's staging tables
-- are made LIKE these without defaults.
ALTER TABLE enrolment_events ADD COLUMN retracted boolean CHECK (retracted);
ALTER TABLE conference_events ADD COLUMN retracted boolean CHECK (retracted);

ALTER TABLE aggregation_status
    ADD COLUMN retractions_received bigint NOT NULL DEFAULT 0,
    ADD COLUMN events_retracted     bigint NOT NULL DEFAULT 0;
