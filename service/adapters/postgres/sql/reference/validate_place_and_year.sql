-- The first checks of staged denominators and targets, in order: a locality that exists and a
-- year (the pattern is filled in by reference.py). validate_<table>.sql runs after these; each
-- step only looks at rows not rejected by an earlier one.
UPDATE ref_in s SET reason = 'locality_code is empty' WHERE reason IS NULL AND coalesce(locality_code, '') = '';

UPDATE ref_in s SET reason = 'unknown locality_code (load localities first)'
WHERE reason IS NULL AND NOT EXISTS (SELECT 1 FROM localities l WHERE l.code = s.locality_code);

UPDATE ref_in s SET reason = 'year must be a year between 1990 and 2100'
WHERE reason IS NULL AND coalesce(year, '') !~ {year_pattern};
