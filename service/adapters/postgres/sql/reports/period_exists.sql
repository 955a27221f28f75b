SELECT 1 FROM report_periods WHERE period_type = %s AND period = %s
