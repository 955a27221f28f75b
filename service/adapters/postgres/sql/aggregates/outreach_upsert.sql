ON CONFLICT (locality_code, month, campaign) DO UPDATE SET
    conferences = agg_outreach.conferences + EXCLUDED.conferences,
    attendees = agg_outreach.attendees + EXCLUDED.attendees,
    cost_vnd = agg_outreach.cost_vnd + EXCLUDED.cost_vnd
