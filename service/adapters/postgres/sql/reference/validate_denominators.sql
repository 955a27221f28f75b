-- Validation of staged denominators after validate_place_and_year.sql, in order; each step
-- only looks at rows not rejected by an earlier one. The patterns and the measures are filled
-- in by reference.py (the measures from domain.reporting.MEASURES).
UPDATE ref_in s SET reason = {measure_reason} WHERE reason IS NULL AND coalesce(measure, '') NOT IN ({measures});

UPDATE ref_in s SET reason = 'value must be a whole number >= 0' WHERE reason IS NULL AND coalesce(value, '') !~ {count_pattern}
