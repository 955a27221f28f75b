-- Publication-safe exports (issue 16): a token may carry a minimum cell size. Breakdowns that
-- can single out a person withhold cells below it for that token (NULL = no suppression).
ALTER TABLE api_tokens ADD COLUMN min_cell_size integer CHECK (min_cell_size BETWEEN 2 AND 1000);
COMMENT ON COLUMN api_tokens.min_cell_size IS 'Breakdown cells below this many are withheld in this token''s answers (NULL = no suppression); a request may raise it, never lower it.';
