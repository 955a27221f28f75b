-- JIT off: the apply's statements are short, but the planner, without statistics on the temp
-- tables, can cost them in the millions, and compiling them took ~100 µs per event on a JIT-
-- capable server (e.g. the postgres:16 image), against ~50 µs for the whole apply without it.
SET LOCAL jit = off;
{take_swap_lock_shared};
CREATE TEMP TABLE IF NOT EXISTS staging_events (LIKE enrolment_events) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS staging_conferences (LIKE conference_events) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS inserted_events (LIKE enrolment_events) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS inserted_conferences (LIKE conference_events) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS staging_retractions (LIKE event_retractions) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS inserted_retractions (LIKE event_retractions) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS new_events (participant_id bigint, LIKE enrolment_events) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS prior_state (LIKE participant_scheme_state) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS rederived (participant_id bigint) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS timeline (sign integer, participant_id bigint, LIKE enrolment_events) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stock_diff (
    scheme text, locality_code text, month date, sex text, birth_year smallint, delta integer
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS flow_diff (
    scheme text, locality_code text, month date, channel text, agent_id text, campaign text,
    {flow_columns}
) ON COMMIT DELETE ROWS;
