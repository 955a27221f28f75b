"""schemas/ is generated from the marshmallow schemas: fail when they drift apart, and check
real records against the published files."""
import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from ingestion_helpers import conference, enrolment
from service.contract.events import EventBodySchema, build_event, record_dict
from service.contract.jsonschema import BODY_FILE, RECORD_FILE, documents, render
from service.domain.model import Agent, Channel
from service.entrypoints.cli import main

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
AGENT = Agent("agent-1", Channel.POST_OFFICE)


def published(name: str) -> dict:
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


def test_schema_files_match_the_marshmallow_schemas():
    for name, document in documents().items():
        assert (SCHEMAS / name).read_text(encoding="utf-8") == render(document), (
            f"schemas/{name} is out of date: run `enrolment contract export`")


def test_export_check_command_agrees(tmp_path):
    runner = CliRunner()
    assert runner.invoke(main, ["contract", "export", "--check"]).exit_code == 0
    assert runner.invoke(main, ["contract", "export", "--out", str(tmp_path)]).exit_code == 0
    (tmp_path / RECORD_FILE).write_text("{}", encoding="utf-8")
    result = runner.invoke(main, ["contract", "export", "--check", "--out", str(tmp_path)])
    assert result.exit_code != 0 and RECORD_FILE in result.output


@pytest.mark.parametrize("body", [enrolment(), conference(), enrolment(kind="lapsed", contribution=None)])
def test_records_the_api_publishes_validate_against_the_published_schema(body):
    body = {k: v for k, v in body.items() if v is not None}
    record = record_dict(build_event(EventBodySchema().load(body), AGENT), datetime.now(UTC))
    jsonschema.Draft202012Validator(published(RECORD_FILE)).validate(record)
    jsonschema.Draft202012Validator(published(BODY_FILE)).validate(body)


@pytest.mark.parametrize("change", [
    {"colour": "red"}, {"kind": "joined"}, {"locality_code": "4"}, {"conference": {"attendees": 1, "cost_vnd": 0, "organiser": "x"}},
    {"participant": {"personal_id": "1"}},
])
def test_the_published_schema_rejects_what_marshmallow_rejects(change):
    body = {**enrolment(), **change}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(published(BODY_FILE)).validate(body)
