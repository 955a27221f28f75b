"""JSON Schema (2020-12) of the events topic, generated from the marshmallow schemas.

`enrolment contract export` writes `schemas/`; a test fails when the files and the schemas
drift apart. apispec's marshmallow converter does the field mapping; the rules marshmallow
checks in code (which fields each kind needs or forbids) are added here as if/then clauses.
"""
from __future__ import annotations

import json
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from ..domain.model import CONFERENCE_HELD, EVENT_KINDS, RETRACTED
from .events import (
    ENROLMENT_ONLY, NOT_FOR_RETRACTED, PARTICIPANT_IDS, SCHEMA_VERSION, EventBodySchema, TopicRecordSchema,
)

DIALECT = "https://json-schema.org/draft/2020-12/schema"
ID_BASE = "https://enrolment.invalid/schemas/"
RECORD_FILE = f"enrolment-event.v{SCHEMA_VERSION}.json"
BODY_FILE = f"enrolment-event-body.v{SCHEMA_VERSION}.json"

KAFKA_NOTES = {
    "key": "hex of the keyed pseudonym (HMAC-SHA256/16 bytes) of the participant's personal_id, "
           "else of its si_number; for conference_held the locality_code",
    "headers": {"event_id": "the event's UUID", "schema_version": str(SCHEMA_VERSION), "kind": "the event kind"},
    "partitioning": "Kafka's default partitioner on the key: one participant's events (under the same id) "
                    "keep their order on one partition",
    "retracted": "key: the retracted event's event_id (text); a retraction may be read before or after the "
                 "event it names, on another partition: the figures are the same either way",
}


# What the service refuses beyond what JSON Schema can state; said in each document.
BEYOND_JSON_SCHEMA = (
    " Rules beyond what JSON Schema can state: integers are written without a fraction or an exponent "
    "(12.0 is refused, although JSON Schema counts it as an integer); participant.sex and "
    "participant.birth_year, given with a personal_id, must equal what it encodes (its 4th digit: 0/1 "
    "male/female born 1900-1999, 2/3 male/female born 2000-2099; its 5th and 6th: the year of birth); "
    "no string carries a lone UTF-16 surrogate; a retraction's retraction.event_id is not its own event_id (compared as UUIDs: the case of the hex digits does not matter). Patterns are ECMA-262 ($ is the end of the string).")


# Said in both documents: how the contract grew without breaking its readers.
COMPATIBILITY = (
    " Compatibility: kind \"retracted\" (a correction) was added to schema version 1 without breaking "
    "it: every record valid before is valid now and means what it meant. A retraction carries "
    "\"retraction\" (the event_id it retracts, a reason code, an optional note) and no participant; "
    "readers tell it from an enrolment or a conference by its kind, and a reader that does not know the "
    "kind should skip it (and count the retracted event out, if it keeps figures).")


def _kind_rules(envelope: bool) -> list[dict[str, Any]]:
    enrolment_kinds = [k for k in EVENT_KINDS if k not in (CONFERENCE_HELD, RETRACTED)]
    kinds_but_retracted = [k for k in EVENT_KINDS if k != RETRACTED]
    is_retracted = {"properties": {"kind": {"const": RETRACTED}}, "required": ["kind"]}
    sender: list[dict[str, Any]] = []
    if envelope:
        sender = [
            {"if": {"properties": {"kind": {"enum": kinds_but_retracted}}, "required": ["kind"]},
             "then": {"required": ["agent"], "not": {"required": ["supervisor"]}}},
            {"if": is_retracted, "then": {"oneOf": [{"required": ["agent"]}, {"required": ["supervisor"]}]}},
        ]
    return [
        {
            "if": is_retracted,
            "then": {"required": ["retraction"], "not": {"anyOf": [{"required": [n]} for n in NOT_FOR_RETRACTED]}},
        },
        {
            "if": {"properties": {"kind": {"enum": kinds_but_retracted}}, "required": ["kind"]},
            "then": {"not": {"required": ["retraction"]}},
        },
        *sender,
        {
            "if": {"properties": {"kind": {"const": CONFERENCE_HELD}}, "required": ["kind"]},
            "then": {"required": ["conference"], "not": {"anyOf": [{"required": [n]} for n in ENROLMENT_ONLY]}},
        },
        {
            "if": {"properties": {"kind": {"enum": enrolment_kinds}}, "required": ["kind"]},
            "then": {"required": ["scheme", "participant"], "not": {"required": ["conference"]}},
        },
        {
            "if": {"properties": {"kind": {"enum": ["lapsed", "withdrawn"]}}, "required": ["kind"]},
            "then": {"not": {"required": ["contribution"]}},
        },
    ]


def _document(schema_cls, name: str, title: str, description: str, extra: dict[str, Any],
              envelope: bool) -> dict[str, Any]:
    spec = APISpec("enrolment", "1", "3.1.0", plugins=[MarshmallowPlugin()])
    spec.components.schema(name, schema=schema_cls)
    components = spec.to_dict()["components"]["schemas"]
    text = json.dumps(components).replace("#/components/schemas/", "#/$defs/")
    defs = json.loads(text)
    root = defs.pop(name)
    root["allOf"] = _kind_rules(envelope)
    defs["Participant"]["anyOf"] = [{"required": [n]} for n in PARTICIPANT_IDS]
    return {"$schema": DIALECT, "$id": ID_BASE + f"{name}.v{SCHEMA_VERSION}.json", "title": title,
            "description": description + BEYOND_JSON_SCHEMA + COMPATIBILITY, **extra, **root, "$defs": dict(sorted(defs.items()))}


def documents() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema document."""
    return {
        RECORD_FILE: _document(
            TopicRecordSchema, "EnrolmentEvent", "A record of the enrolment events topic",
            "Value of each record (UTF-8 JSON) on the events topic. Carries raw participant ids: the "
            "topic is personal data.", {"x-kafka": KAFKA_NOTES}, envelope=True),
        BODY_FILE: _document(
            EventBodySchema, "EnrolmentEventBody", "One event as an agent app posts it",
            "Body of POST /v1/events (and each item of POST /v1/events/batch).", {}, envelope=False),
    }


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
