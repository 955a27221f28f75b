SELECT (SELECT count(*) FROM {schema}.enrolment_events) + (SELECT count(*) FROM {schema}.conference_events) + (SELECT count(*) FROM {schema}.event_retractions)
