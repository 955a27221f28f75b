-- reporting.active_by_sex_age for a few named localities: only their communes' rows (closure
-- first, primary-key lookups) instead of the view's every-commune pass. Same columns and rows
-- as the view (only non-zero counts: the rule of migration 0040).
(
    SELECT p.period_type, p.period, p.year, p.period_start, p.period_end,
           lc.ancestor_code AS locality_code, l.name AS locality_name, l.level,
           sm.scheme, a.sex, age_band(a.birth_year, p.year) AS age_band, sum(a.delta)::bigint AS active
    FROM report_periods p
    JOIN locality_closure lc ON lc.ancestor_code = ANY(%s::text[])
    JOIN agg_active_changes_by_person a ON a.locality_code = lc.descendant_code AND a.month <= p.period_end
    JOIN localities l ON l.code = lc.ancestor_code
    JOIN report_scheme_members sm ON sm.member = a.scheme
    WHERE p.period_type = %s AND p.period = %s
    GROUP BY p.period_type, p.period, p.year, p.period_start, p.period_end, lc.ancestor_code, l.name, l.level,
             sm.scheme, a.sex, age_band(a.birth_year, p.year)
    HAVING sum(a.delta) <> 0
) AS v
