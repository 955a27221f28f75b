-- Validation of staged targets after validate_place_and_year.sql, in order; each step only
-- looks at rows not rejected by an earlier one. The patterns, subjects, bases and measures are
-- filled in by reference.py (from domain.reporting).
UPDATE ref_in s SET reason = {subject_reason} WHERE reason IS NULL AND coalesce(subject, '') NOT IN ({subjects});

UPDATE ref_in s SET reason = 'basis must be active, new or held' WHERE reason IS NULL AND coalesce(basis, '') NOT IN ({bases});

UPDATE ref_in s SET reason = 'basis held goes with subject conferences, and only with it'
WHERE reason IS NULL AND ((subject = {conferences}) <> (basis = 'held'));

UPDATE ref_in s SET reason = 'give exactly one of target_count and target_rate_pct'
WHERE reason IS NULL AND ((target_count IS NULL) = (target_rate_pct IS NULL));

UPDATE ref_in s SET reason = 'target_count must be a whole number >= 0'
WHERE reason IS NULL AND (target_count IS NOT NULL AND target_count !~ {count_pattern});

UPDATE ref_in s SET reason = 'target_rate_pct must be a percentage in (0, 100] with at most 3 decimals'
WHERE reason IS NULL AND (target_rate_pct IS NOT NULL AND CASE WHEN target_rate_pct ~ {rate_pattern}
                          THEN target_rate_pct::numeric NOT BETWEEN 0.001 AND 100 ELSE true END);

UPDATE ref_in s SET reason = 'a rate target needs denominator_measure (and a count target none)'
WHERE reason IS NULL AND ((target_rate_pct IS NULL) <> (denominator_measure IS NULL));

UPDATE ref_in s SET reason = {denominator_measure_reason}
WHERE reason IS NULL AND (denominator_measure IS NOT NULL AND denominator_measure NOT IN ({measures}))
