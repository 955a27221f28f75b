"""Who may do what on the broker: this process's credentials and the ACLs of the stack.

docker-compose's Kafka authenticates every client (SASL) and authorises with ACLs, denying
what no ACL allows; `grants()` is the one list of what each principal may do, derived from the
settings, and `enrolment migrate --kafka-acls` (run by the admin principal) creates them:
- the producer principal (the API and the outbox relay) writes the events topic;
- the consumer principal (the workers) reads it with the worker group and writes dead letters;
- the reader principal (downstream systems) reads the events topic with groups of a prefix.
Anyone else, or a client without credentials, can neither write nor read the events topic, so
a forged record cannot reach the aggregates.
"""
from __future__ import annotations

from dataclasses import dataclass

from ...config import Settings

PLAINTEXT = "PLAINTEXT"


def client_options(settings: Settings) -> dict:
    """kafka-python options that authenticate this process (none on a plaintext broker)."""
    if settings.kafka_security_protocol == PLAINTEXT:
        return {}
    return {
        "security_protocol": settings.kafka_security_protocol,
        "sasl_mechanism": settings.kafka_sasl_mechanism,
        "sasl_plain_username": settings.kafka_sasl_username,
        "sasl_plain_password": settings.kafka_sasl_password,
    }


@dataclass(frozen=True)
class Grant:
    principal: str  # without the "User:" prefix
    operation: str  # kafka.admin.ACLOperation name
    resource_type: str  # kafka.admin.ResourceType name
    resource_name: str
    prefixed: bool = False


def grants(settings: Settings) -> list[Grant]:
    s = settings
    producer, consumer, reader = s.kafka_producer_principal, s.kafka_consumer_principal, s.kafka_reader_principal
    return [
        Grant(producer, "WRITE", "TOPIC", s.events_topic),
        Grant(producer, "DESCRIBE", "TOPIC", s.events_topic),
        Grant(producer, "IDEMPOTENT_WRITE", "CLUSTER", "kafka-cluster"),
        Grant(consumer, "READ", "TOPIC", s.events_topic),
        Grant(consumer, "DESCRIBE", "TOPIC", s.events_topic),
        Grant(consumer, "READ", "GROUP", s.consumer_group),
        Grant(consumer, "WRITE", "TOPIC", s.dead_letter_topic),
        Grant(consumer, "READ", "TOPIC", s.dead_letter_topic),
        Grant(consumer, "DESCRIBE", "TOPIC", s.dead_letter_topic),
        Grant(consumer, "IDEMPOTENT_WRITE", "CLUSTER", "kafka-cluster"),
        Grant(reader, "READ", "TOPIC", s.events_topic),
        Grant(reader, "DESCRIBE", "TOPIC", s.events_topic),
        Grant(reader, "READ", "GROUP", s.kafka_reader_group_prefix, prefixed=True),
    ]


def create_acls(settings: Settings) -> int:
    """Create every grant (an existing one is left as it is); returns how many were sent."""
    from kafka.admin import (
        ACL, ACLOperation, ACLPermissionType, ACLResourcePatternType, KafkaAdminClient, ResourcePattern, ResourceType,
    )

    acls = [ACL(principal=f"User:{g.principal}", host="*", operation=ACLOperation[g.operation],
                permission_type=ACLPermissionType.ALLOW,
                resource_pattern=ResourcePattern(ResourceType[g.resource_type], g.resource_name,
                                                 ACLResourcePatternType.PREFIXED if g.prefixed
                                                 else ACLResourcePatternType.LITERAL))
            for g in grants(settings)]
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers, client_id="enrolment-admin",
                             **client_options(settings))
    try:
        result = admin.create_acls(acls)
    finally:
        admin.close()
    if result.get("failed"):
        raise RuntimeError(f"the broker refused ACLs: {result['failed']}")
    return len(acls)
