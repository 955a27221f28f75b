-- The consumer's own store (issue "Aggregation"): accepted events (pseudonymised), the
-- participant identity map, the per-participant facts that the agg_* tables are sums of, and
-- the consumed offsets. Never read by reports; read by the consumer to re-derive a
-- participant's timeline when a late or linking event arrives.

-- Participants are numbered internally; the numbers depend on arrival order but no figure
-- does. Identifiers are HMAC pseudonyms (service.domain.identity.Pseudonymiser); a personal id
-- and an SI number have different namespaces, so they never collide.
CREATE SEQUENCE participant_id_seq;
CREATE TABLE participant_identifiers (
    identifier     bytea  PRIMARY KEY,
    participant_id bigint NOT NULL
);
CREATE INDEX participant_identifiers_participant_idx ON participant_identifiers (participant_id);

-- One row per accepted enrolment event (event_id is the idempotency key). `ident` is the
-- pseudonym of the personal id when the event carries one, else of the SI number;
-- `linked_ident` is the SI number's pseudonym when the event carries both (the link).
-- sex / birth_year as given or decoded from the personal id; NULL = not known from this event.
CREATE TABLE enrolment_events (
    event_id            uuid        PRIMARY KEY,
    ident               bytea       NOT NULL,
    linked_ident        bytea,
    scheme              text        NOT NULL,
    kind                text        NOT NULL,
    occurred_at         timestamptz NOT NULL,
    month               date        NOT NULL,
    locality_code       text        NOT NULL,
    channel             text        NOT NULL,
    agent_id            text        NOT NULL,
    sex                 text,
    birth_year          smallint,
    contribution_months integer,
    contribution_vnd    bigint,
    campaign            text
);
CREATE INDEX enrolment_events_ident_idx ON enrolment_events (ident);

CREATE TABLE conference_events (
    event_id      uuid        PRIMARY KEY,
    occurred_at   timestamptz NOT NULL,
    month         date        NOT NULL,
    locality_code text        NOT NULL,
    channel       text        NOT NULL,
    agent_id      text        NOT NULL,
    campaign      text        NOT NULL,  -- '' = none
    attendees     integer     NOT NULL,
    cost_vnd      bigint      NOT NULL,
    organiser     text        NOT NULL
);

-- What each participant currently contributes to the agg_* tables. Re-deriving a participant
-- replaces the rows that changed (subtracting the old, adding the new), so the aggregates stay
-- exact sums of these rows.
CREATE TABLE participant_stock_facts (
    participant_id bigint   NOT NULL,
    scheme         text     NOT NULL,
    locality_code  text     NOT NULL,
    month          date     NOT NULL,
    sex            text     NOT NULL,
    birth_year     smallint NOT NULL,
    delta          integer  NOT NULL,
    PRIMARY KEY (participant_id, scheme, month, locality_code)
);

CREATE TABLE participant_flow_facts (
    participant_id      bigint  NOT NULL,
    scheme              text    NOT NULL,
    locality_code       text    NOT NULL,
    month               date    NOT NULL,
    channel             text    NOT NULL,
    agent_id            text    NOT NULL,
    campaign            text    NOT NULL,  -- '' = none
    new_participants    integer NOT NULL,
    reactivations       integer NOT NULL,
    renewals            integer NOT NULL,
    lapses              integer NOT NULL,
    withdrawals         integer NOT NULL,
    contributions       integer NOT NULL,
    contribution_months bigint  NOT NULL,
    contribution_vnd    bigint  NOT NULL,
    campaign_enrolments integer NOT NULL,
    PRIMARY KEY (participant_id, scheme, month, locality_code, channel, agent_id, campaign)
);

-- Offsets applied, written in the same transaction as the batch: the truth for "what has
-- been counted" (Kafka's committed offsets are only a hint after a crash; dedupe covers it).
CREATE TABLE consumer_offsets (
    consumer_group text        NOT NULL,
    topic          text        NOT NULL,
    partition      integer     NOT NULL,
    next_offset    bigint      NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer_group, topic, partition)
);

-- What a status page needs: one row, updated by every batch.
CREATE TABLE aggregation_status (
    singleton           boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    last_applied_at     timestamptz,
    newest_occurred_at  timestamptz,
    events_applied      bigint      NOT NULL DEFAULT 0,
    duplicates_skipped  bigint      NOT NULL DEFAULT 0,
    conferences_applied bigint      NOT NULL DEFAULT 0
);
INSERT INTO aggregation_status DEFAULT VALUES;
