"""Every Kafka client the service builds authenticates as configured and keeps its own tuning.
(The options only: the SASL brokers of docker-compose are not available to the tests.)"""
from types import SimpleNamespace

import pytest

from service.adapters.kafka import clients, consumer
from service.adapters.kafka.consumer import DEAD_LETTER_HEADROOM_BYTES, make_consumer, make_dead_letter_producer
from service.adapters.kafka.publisher import KafkaPublisher
from service.config import Settings

SASL = Settings(kafka_bootstrap_servers="k1:9092,k2:9092", kafka_security_protocol="SASL_PLAINTEXT",
                kafka_sasl_mechanism="SCRAM-SHA-512", kafka_sasl_username="worker", kafka_sasl_password="secret")


@pytest.fixture
def built(monkeypatch) -> list[dict]:
    options: list[dict] = []

    class Recorder:
        def __init__(self, *args, **kwargs):
            options.append(kwargs)
            # what make_consumer's rejoin patch reads of a group consumer (tests/unit/test_consumer_rejoin.py)
            self._coordinator = SimpleNamespace(need_rejoin=lambda: False)

    monkeypatch.setattr(clients, "KafkaProducer", Recorder)
    monkeypatch.setattr(consumer, "KafkaConsumer", Recorder)
    return options


def test_every_producer_and_consumer_authenticates(built):
    make_consumer(SASL, group_id="g")
    make_dead_letter_producer(SASL, "dead-letters")
    KafkaPublisher(SASL)._make_producer()
    assert len(built) == 3
    for options in built:
        assert (options["security_protocol"], options["sasl_mechanism"], options["sasl_plain_username"],
                options["sasl_plain_password"]) == ("SASL_PLAINTEXT", "SCRAM-SHA-512", "worker", "secret")


def test_each_producer_keeps_its_tuning_over_the_shared_defaults(built):
    make_dead_letter_producer(SASL, "dead-letters")
    KafkaPublisher(SASL.with_(producer_linger_ms=3))._make_producer()
    dead_letters, api = built
    for options in (dead_letters, api):
        assert options["acks"] == "all" and options["enable_idempotence"] is True
        assert options["bootstrap_servers"] == ["k1:9092", "k2:9092"]
    assert dead_letters["max_request_size"] == SASL.max_record_bytes + DEAD_LETTER_HEADROOM_BYTES
    assert dead_letters["client_id"] == "dead-letters" and dead_letters["linger_ms"] == 5
    assert api["linger_ms"] == 3 and api["max_block_ms"] == int(SASL.publish_timeout_s * 1000)
    assert api["client_id"].startswith("enrolment-api-")


def test_on_a_plaintext_broker_no_credentials_are_sent(built):
    make_consumer(Settings(kafka_bootstrap_servers="k:9092"), group_id=None)
    make_dead_letter_producer(Settings(kafka_bootstrap_servers="k:9092"), "d")
    assert all("security_protocol" not in options and "sasl_plain_password" not in options for options in built)
