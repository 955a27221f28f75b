INSERT INTO agg_campaign_enrolments (month, locality_code, scheme, campaign, new_participants, reactivations)
SELECT month, locality_code, scheme, campaign, sum(new_participants), sum(reactivations)
FROM flow_diff WHERE campaign <> ''
GROUP BY 1, 2, 3, 4 HAVING sum(new_participants) <> 0 OR sum(reactivations) <> 0
ORDER BY 1, 2, 3, 4
ON CONFLICT (month, locality_code, scheme, campaign) DO UPDATE SET
    new_participants = agg_campaign_enrolments.new_participants + EXCLUDED.new_participants,
    reactivations = agg_campaign_enrolments.reactivations + EXCLUDED.reactivations
