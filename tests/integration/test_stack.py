"""The test stack itself: real servers, migrated databases, topics that exist."""
import psycopg
import pytest
from kafka import KafkaAdminClient

pytestmark = pytest.mark.integration


def test_database_is_migrated_and_isolated(database_url):
    with psycopg.connect(database_url) as conn:
        versions = [v for (v,) in conn.execute("SELECT version FROM schema_migrations ORDER BY 1")]
        assert versions[:1] == [1]
        assert conn.execute("SELECT count(*) FROM localities").fetchone() == (0,)


def test_topics_exist_for_the_test(settings):
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    try:
        topics = set(admin.list_topics())
    finally:
        admin.close()
    assert {settings.events_topic, settings.dead_letter_topic} <= topics
