"""docker-compose's Kafka is production-shaped: every client authenticates, ACLs deny by
default, and only the API's principal can write the events topic (checked statically: no
Docker engine runs here). The ACLs come from `service.adapters.kafka.access.grants`, the one
list `enrolment migrate --kafka-acls` creates."""
from pathlib import Path

import yaml

from service.adapters.kafka.access import client_options, grants
from service.config import Settings

COMPOSE = yaml.safe_load((Path(__file__).resolve().parents[2] / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def env(service: str) -> dict:
    return SERVICES[service]["environment"]


def test_every_kafka_listener_authenticates_and_acls_deny_by_default():
    kafka = env("kafka")
    protocols = dict(pair.split(":") for pair in kafka["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    assert set(protocols.values()) == {"SASL_PLAINTEXT"}, protocols  # no unauthenticated listener
    assert all(listener.split(":")[0] in protocols for listener in kafka["KAFKA_LISTENERS"].split(","))
    assert kafka["KAFKA_AUTHORIZER_CLASS_NAME"].endswith("StandardAuthorizer")
    assert kafka["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
    assert kafka["KAFKA_SUPER_USERS"] == "User:admin"
    jaas = kafka["KAFKA_LISTENER_NAME_SASL__PLAINTEXT_PLAIN_SASL_JAAS_CONFIG"]
    for user in ("admin", "api", "worker", "reader"):
        assert f'user_{user}="${{' in jaas  # each password from the environment, none in the file


def test_each_client_service_authenticates_as_its_own_principal():
    s = Settings()
    expected = {"api": s.kafka_producer_principal, "relay": s.kafka_producer_principal,
                "worker": s.kafka_consumer_principal, "migrate": "admin"}
    for service, principal in expected.items():
        e = env(service)
        assert e["KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT" and e["KAFKA_SASL_USERNAME"] == principal, service
        assert e["KAFKA_SASL_PASSWORD"].startswith("${"), service
        kafka_env = {k: str(v) for k, v in e.items() if k.startswith("KAFKA_")}
        options = client_options(Settings.from_env(kafka_env, running_stack=False))
        assert options["sasl_plain_username"] == principal and options["security_protocol"] == "SASL_PLAINTEXT"
    assert "--kafka-acls" in " ".join(SERVICES["migrate"]["command"])


def test_only_the_producer_principal_can_write_the_events_topic():
    s = Settings()
    by_topic = [g for g in grants(s) if g.resource_type == "TOPIC" and g.resource_name == s.events_topic]
    writers = {g.principal for g in by_topic if g.operation in ("WRITE", "ALL")}
    assert writers == {s.kafka_producer_principal}
    readers = {g.principal for g in by_topic if g.operation == "READ"}
    assert readers == {s.kafka_consumer_principal, s.kafka_reader_principal}
    groups = {(g.principal, g.resource_name, g.prefixed) for g in grants(s) if g.resource_type == "GROUP"}
    assert groups == {(s.kafka_consumer_principal, s.consumer_group, False),
                      (s.kafka_reader_principal, s.kafka_reader_group_prefix, True)}
    # the reader principal may read and nothing else
    assert {g.operation for g in grants(s) if g.principal == s.kafka_reader_principal} == {"READ", "DESCRIBE"}


def test_the_topic_forgets_raw_personal_ids_after_a_finite_retention():
    retention = env("api")["TOPIC_RETENTION_MS"]
    assert retention.startswith("${TOPIC_RETENTION_MS:-")
    assert 0 < int(retention.split(":-")[1].rstrip("}")) <= 30 * 24 * 3600 * 1000
