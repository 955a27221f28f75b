-- Validation of staged denominators, in order; each step only looks at rows not rejected by an
-- earlier one. The patterns and the measures are filled in by reference.py (the measures from
-- domain.reporting.MEASURES).
UPDATE ref_in s SET reason = 'locality_code is empty' WHERE reason IS NULL AND coalesce(locality_code, '') = '';

UPDATE ref_in s SET reason = 'unknown locality_code (load localities first)'
WHERE reason IS NULL AND NOT EXISTS (SELECT 1 FROM localities l WHERE l.code = s.locality_code);

UPDATE ref_in s SET reason = 'year must be a year between 1990 and 2100'
WHERE reason IS NULL AND coalesce(year, '') !~ {year_pattern};

UPDATE ref_in s SET reason = {measure_reason} WHERE reason IS NULL AND coalesce(measure, '') NOT IN ({measures});

UPDATE ref_in s SET reason = 'value must be a whole number >= 0' WHERE reason IS NULL AND coalesce(value, '') !~ {count_pattern}
