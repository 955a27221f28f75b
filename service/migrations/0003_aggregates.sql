-- Aggregation store (issue "Aggregation"). The agg_* tables below are the contract that the
-- reporting views read; their names and columns stay stable. All are per commune (the leaf
-- locality of the event) and calendar month in Asia/Ho_Chi_Minh (`month` = first day).

-- Stock of active participants as month-end changes: active at the end of month M in a
-- commune = sum(delta) over months <= M. A stock is never summed across months; this
-- running sum is how a month-end value is read.
CREATE TABLE agg_active_changes (
    locality_code text     NOT NULL,
    scheme        text     NOT NULL,
    month         date     NOT NULL,
    delta         bigint   NOT NULL DEFAULT 0,
    PRIMARY KEY (locality_code, scheme, month)
);
CREATE INDEX agg_active_changes_month_idx ON agg_active_changes (month);

-- The same, broken down by sex ('male', 'female', 'unknown') and birth year (0 = unknown):
-- age band at month M is age_band(birth_year, extract(year from M)).
CREATE TABLE agg_active_changes_by_person (
    locality_code text     NOT NULL,
    scheme        text     NOT NULL,
    month         date     NOT NULL,
    sex           text     NOT NULL,
    birth_year    smallint NOT NULL,
    delta         bigint   NOT NULL DEFAULT 0,
    PRIMARY KEY (locality_code, scheme, month, sex, birth_year)
);

-- Flows in the month, by the channel and agent that recorded the event.
CREATE TABLE agg_flows (
    locality_code        text   NOT NULL,
    scheme               text   NOT NULL,
    month                date   NOT NULL,
    channel              text   NOT NULL,
    agent_id             text   NOT NULL,
    new_participants     bigint NOT NULL DEFAULT 0,  -- first-ever activation in the scheme
    reactivations        bigint NOT NULL DEFAULT 0,  -- active again after a lapse/withdrawal
    renewals             bigint NOT NULL DEFAULT 0,  -- renewed while active
    lapses               bigint NOT NULL DEFAULT 0,  -- active -> inactive by `lapsed`
    withdrawals          bigint NOT NULL DEFAULT 0,  -- `withdrawn` events (lump-sum withdrawal)
    contributions        bigint NOT NULL DEFAULT 0,  -- registered/renewed events carrying money
    contribution_months  bigint NOT NULL DEFAULT 0,
    contribution_vnd     bigint NOT NULL DEFAULT 0,
    campaign_enrolments  bigint NOT NULL DEFAULT 0,  -- activations naming a campaign
    PRIMARY KEY (locality_code, scheme, month, channel, agent_id)
);
CREATE INDEX agg_flows_month_idx ON agg_flows (month);

-- Activations (new + re-activations) attributed to each campaign.
CREATE TABLE agg_campaign_enrolments (
    locality_code    text   NOT NULL,
    scheme           text   NOT NULL,
    month            date   NOT NULL,
    campaign         text   NOT NULL,
    new_participants bigint NOT NULL DEFAULT 0,
    reactivations    bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (locality_code, scheme, month, campaign)
);

-- Outreach: conferences held ('' = no campaign named).
CREATE TABLE agg_outreach (
    locality_code text   NOT NULL,
    month         date   NOT NULL,
    campaign      text   NOT NULL,
    conferences   bigint NOT NULL DEFAULT 0,
    attendees     bigint NOT NULL DEFAULT 0,
    cost_vnd      bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (locality_code, month, campaign)
);
