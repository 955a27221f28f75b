"""Schemathesis against the app's own `/openapi.json`: every operation, with an agent, a reporting
and a reference token, positive and negative data, against the real PostgreSQL and broker.

Asserts for every generated request: no 5xx, the status code is documented for the operation,
the content type and the body conform to the documented response, documented headers are sent.
Bounded: `EXAMPLES` per operation and generation mode with the token of its scope,
`WRONG_SCOPE_EXAMPLES` of positive data with each other token, and `BUDGET_S` over the whole run
(each run gets its share by examples asked for; once spent, the remaining examples are not sent,
except the first MIN_EXAMPLES of each run).
"""
from __future__ import annotations

import time
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ingestion_helpers import auth
from service.domain import access

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EXAMPLES = 15  # per operation and generation mode, with the token of the operation's scope
WRONG_SCOPE_EXAMPLES = 4  # with each other token: 403 whatever the request
BUDGET_S = 40.0
# Sent by every run whatever the budget: building an operation's strategy can take longer than
# its share of the budget on a loaded machine, and every operation must be exercised.
MIN_EXAMPLES = 2
CHECKS = [schemathesis.checks.not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance]


def _operations(schema) -> list:
    return [result.ok() for result in schema.get_all_operations()]


def _run(operation, app, token: str, mode: GenerationMode, examples: int, stop_at: float,
         statuses: Counter) -> str | None:
    """The first failure of up to `examples` generated requests sent before `stop_at`, or None.
    A failure is recorded, not raised: no shrinking (the report has a curl line to reproduce it),
    and the time budget cannot make a replay differ from the first run."""
    failures: list[str] = []
    sent = [0]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    def exercise(case) -> None:
        if failures or (sent[0] >= MIN_EXAMPLES and time.monotonic() > stop_at):
            return
        sent[0] += 1
        try:
            response = case.call_and_validate(app=app, headers=auth(token), checks=CHECKS)
            statuses[(operation.label, response.status_code)] += 1
        except (Exception, FailureGroup) as failure:  # a failed check, or the app raised (a 500)
            failures.append(f"{operation.label} [{mode.value}]: {type(failure).__name__}: {failure}")

    exercise()
    return failures[0] if failures else None


def test_every_operation_conforms_to_the_openapi_document(app, tokens):
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    operations = _operations(schema)
    assert {op.label for op in operations} >= {"POST /v1/events", "POST /v1/events/batch",
                                               "GET /v1/reports/coverage", "POST /v1/reports/targets"}
    runs = []
    for op in operations:
        own_scope = (access.AGENT if op.path.startswith("/v1/events")
                     else access.REFERENCE if op.method.upper() == "POST" else access.REPORTING)
        for scope, token in ((access.AGENT, tokens.agent), (access.REPORTING, tokens.reporting),
                             (access.REFERENCE, tokens.reference)):
            if scope == own_scope:
                runs += [(op, EXAMPLES, token, mode) for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]
            else:  # 403 whatever the data: positive data only (each run costs a strategy build)
                runs.append((op, WRONG_SCOPE_EXAMPLES, token, GenerationMode.POSITIVE))
    share_s = BUDGET_S / sum(examples for _, examples, _, _ in runs)  # per example asked for
    started = time.monotonic()
    failures = []
    statuses: Counter = Counter()
    stop_at = started
    for op, examples, token, mode in runs:
        stop_at += share_s * examples
        failure = _run(op, app, token, mode, examples, stop_at, statuses)
        if failure:
            failures.append(failure)
    assert not failures, "\n\n".join(failures)
    sent = Counter(label for label, _ in statuses.elements())
    # The budget let every operation run (one without parameters has one request per token).
    assert all(sent[op.label] >= (5 if op.definition.raw.get("parameters") else 3) for op in operations), sent
    assert any(200 <= status < 300 for _, status in statuses), statuses  # and the tokens were taken
