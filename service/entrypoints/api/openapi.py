"""What the OpenAPI document says about error answers: every one is `application/problem+json`.

`register_problem_responses` puts one response component per error status in the spec;
`ProblemAnswers`, an apispec plugin, lists on every operation the error statuses it can answer
(so a client, or schemathesis, can rely on the document): every operation can answer 400
(a query parameter with NUL or bad encoding), 422 (parameters that break their schema), 429
(rate limited) and 503 (PostgreSQL or the broker unavailable); an operation with a token 401
and 403; an operation with a body 413 (over MAX_BODY_BYTES) and 415 (not JSON).
"""
from __future__ import annotations

from http import HTTPStatus

from apispec import APISpec, BasePlugin

from .problems import PROBLEM_JSON

RETRY_AFTER = {"description": "seconds to wait before trying again", "schema": {"type": "integer", "minimum": 1}}
_HEADERS = {
    401: {"WWW-Authenticate": {"description": "Bearer challenge", "schema": {"type": "string"}}},
    429: {"Retry-After": RETRY_AFTER},
    503: {"Retry-After": RETRY_AFTER},
}
_TEXT = {
    400: "malformed request: JSON syntax, nesting too deep, NUL or a lone surrogate in a parameter",
    401: "missing, unknown or revoked token",
    409: "the event_id names another event, accepted before (rule event_id_conflict)",
    403: "the token's scope does not allow this operation (or a province the agent is not assigned to, or a locality outside the token's localities)",
    413: "body larger than MAX_BODY_BYTES (Content-Length or chunked)",
    415: "the body is not application/json",
    422: "parameters or body break the rules listed in errors",
    429: "too many requests: see Retry-After",
    503: "PostgreSQL is unavailable (an event post needs only PostgreSQL; a broker outage is absorbed by the outbox): see Retry-After",
}
EVERY_OPERATION = (400, 422, 429, 503)
WITH_TOKEN = (401, 403)
WITH_BODY = (413, 415)


def register_problem_responses(spec: APISpec, problem_schema) -> None:
    """One lazy response component per HTTP error status (and flask-smorest's DEFAULT_ERROR)."""
    for name, status in HTTPStatus.__members__.items():  # aliases too (UNPROCESSABLE_ENTITY)
        if status >= 400:
            spec.components.response(name, _problem(status, _TEXT.get(status, status.phrase), problem_schema),
                                     lazy=True)
    spec.components.response("DEFAULT_ERROR", _problem(500, "unexpected error", problem_schema), lazy=True)


def _problem(status: int, text: str, problem_schema) -> dict:
    response = {"description": text, "content": {PROBLEM_JSON: {"schema": problem_schema}}}
    if status in _HEADERS:
        response["headers"] = {name: dict(header, required=True) for name, header in _HEADERS[status].items()}
    return response


class ProblemAnswers(BasePlugin):
    """Adds the error statuses an operation can answer (module docstring) to each operation."""

    def operation_helper(self, path=None, operations=None, **kwargs) -> None:
        for operation in (operations or {}).values():
            codes = list(EVERY_OPERATION)
            if operation.get("security"):
                codes += WITH_TOKEN
            if "requestBody" in operation:
                codes += WITH_BODY
            responses = operation.setdefault("responses", {})
            for code in codes:
                responses.setdefault(str(code), HTTPStatus(code).name)
