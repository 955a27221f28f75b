WITH communes AS (SELECT descendant_code AS code FROM locality_closure WHERE ancestor_code = %(locality)s),
members AS (SELECT member FROM report_scheme_members WHERE scheme = %(scheme)s),
months AS (
    SELECT m::date AS month
    FROM generate_series(%(end)s::date - make_interval(months => %(months)s - 1), %(end)s::date, '1 month') m
),
opening AS (
    SELECT coalesce(sum(a.delta), 0) AS active FROM agg_active_changes a
    WHERE a.locality_code IN (SELECT code FROM communes) AND a.scheme IN (SELECT member FROM members)
      AND a.month < (SELECT min(month) FROM months)
),
changes AS (
    SELECT a.month, sum(a.delta) AS delta FROM agg_active_changes a
    WHERE a.locality_code IN (SELECT code FROM communes) AND a.scheme IN (SELECT member FROM members)
      AND a.month >= (SELECT min(month) FROM months) AND a.month <= %(end)s
    GROUP BY a.month
),
flows AS (
    SELECT f.month, {flow_sums}
    FROM agg_flows f
    WHERE f.locality_code IN (SELECT code FROM communes) AND f.scheme IN (SELECT member FROM members)
      AND f.month >= (SELECT min(month) FROM months) AND f.month <= %(end)s
    GROUP BY f.month
)
SELECT to_char(m.month, 'YYYY-MM') AS period,
       ((SELECT active FROM opening) + sum(coalesce(c.delta, 0)) OVER (ORDER BY m.month))::bigint AS active,
       {flow_columns}
FROM months m LEFT JOIN changes c USING (month) LEFT JOIN flows f USING (month)
ORDER BY m.month
