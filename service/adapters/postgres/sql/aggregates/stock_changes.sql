INSERT INTO stock_diff
SELECT scheme, before, month, sex, birth_year, -{sign} FROM changes
WHERE before IS NOT NULL AND before IS DISTINCT FROM active_in
UNION ALL
SELECT scheme, active_in, month, sex, birth_year, {sign} FROM changes
WHERE active_in IS NOT NULL AND active_in IS DISTINCT FROM before
