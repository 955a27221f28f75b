SELECT scheme, array_agg(member) FROM report_scheme_members WHERE scheme <> member GROUP BY scheme
