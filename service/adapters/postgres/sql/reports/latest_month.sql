SELECT greatest((SELECT max(month) FROM agg_active_changes WHERE delta <> 0 AND {in_scope}),
                (SELECT max(month) FROM agg_flows WHERE ({any_flow}) AND {in_scope}))
