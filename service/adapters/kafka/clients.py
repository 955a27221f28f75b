"""The one producer factory: every producer of the service is built here, so every one
authenticates (`client_options`) and acks=all with idempotence stays explicit (the kafka-python
3 defaults, said so that a reader need not know them). Callers add only their own tuning."""
from __future__ import annotations

from kafka import KafkaProducer

from ...config import Settings
from .access import client_options


def make_producer(settings: Settings, client_id: str, **tuning) -> KafkaProducer:
    return KafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers.split(","),
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        **client_options(settings),
        **tuning,
    )
