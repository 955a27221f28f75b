-- Token scopes beyond agent and reporting, and the places a token is limited to.
--   supervisor: may retract any event recorded in its provinces (corrections);
--   reference:  may write reference data (denominators, targets);
--   reporting:  reads reports, limited to the subtrees of its localities (none = the nation).
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_scope_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_scope_check
    CHECK (scope IN ('agent', 'reporting', 'supervisor', 'reference'));

-- The roots of the locality subtrees a token may see or act on; no row = the whole nation
-- (reporting, reference). A supervisor token always has at least one province here.
CREATE TABLE api_token_localities (
    token_id      bigint NOT NULL REFERENCES api_tokens (token_id) ON DELETE CASCADE,
    locality_code text   NOT NULL REFERENCES localities (code),
    PRIMARY KEY (token_id, locality_code)
);
COMMENT ON TABLE api_token_localities IS 'Subtree roots a token is limited to (reporting: what it may read; supervisor: provinces whose events it may retract). No row = the whole nation.';
