-- Agents and the bearer tokens of the API. Tokens are stored only as SHA-256 hashes.

CREATE TABLE agents (
    agent_id   text PRIMARY KEY CHECK (agent_id ~ '^[A-Za-z0-9._:-]{1,64}$'),
    name       text NOT NULL,
    channel    text NOT NULL CHECK (channel IN
                   ('post_office', 'collection_organisation', 'social_insurance_office', 'employer')),
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE agents IS 'Collection agents: identity and channel come from here (via the token), never from a request body.';

-- Provinces an agent may post events for (403 for a commune in any other province).
CREATE TABLE agent_provinces (
    agent_id      text NOT NULL REFERENCES agents (agent_id) ON DELETE CASCADE,
    province_code text NOT NULL,
    PRIMARY KEY (agent_id, province_code)
);

CREATE TABLE api_tokens (
    token_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),  -- sha256 of the token
    scope      text NOT NULL CHECK (scope IN ('agent', 'reporting')),
    agent_id   text REFERENCES agents (agent_id),
    label      text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    CHECK ((scope = 'agent') = (agent_id IS NOT NULL))
);
CREATE INDEX api_tokens_agent_idx ON api_tokens (agent_id);
