"""RFC 9457 problem details: every error the API answers is `application/problem+json`.

Body: {"type", "title", "status", "detail"?, "errors"?: [{"field", "rule", "message"}]}.
`field` is a dotted path into the request body ("participant.personal_id", "events.3.kind"),
`rule` a stable machine-readable name, `message` the human sentence.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping

from flask import Response
from werkzeug.exceptions import HTTPException

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://enrolment.invalid/problems/"  # stable identifiers, not fetched

# marshmallow's and our schemas' messages -> rule names (first match wins).
_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(p, re.I), r)
    for p, r in [
        (r"^Unknown field", "unknown_field"),
        (r"^Missing data for required field", "required"),
        (r"^Field may not be null", "not_null"),
        (r"^Not a valid UUID", "uuid"),
        (r"^Not a valid (aware )?datetime|^Not a valid aware|RFC 3339 date-time", "datetime_with_offset"),
        (r"^Not a valid (integer|string|number|boolean)|^Invalid input type|^Invalid type", "type"),
        (r"^Must be one of", "one_of"),
        (r"^Must be (greater|less)", "range"),
        (r"^Length must", "length"),
        (r"must be exactly \d+ digits|must be a 5-digit", "format"),
        (r"^contradicts the", "personal_id_consistency"),
        (r"^name the participant", "participant_identified"),
        (r"required for ", "required_for_kind"),
        (r"not allowed for ", "not_allowed_for_kind"),
        (r"must not contain control characters", "no_control_characters"),
        (r"must be valid Unicode text", "unicode_text"),
        (r"^must be a month", "month_format"),
    ]
]


def rule_for(message: str) -> str:
    for pattern, rule in _RULES:
        if pattern.search(message):
            return rule
    return "invalid"


def flatten(messages: object, path: tuple[str, ...] = ()) -> list[dict[str, str]]:
    """marshmallow's nested error messages as a flat list of {field, rule, message}."""
    if isinstance(messages, Mapping):
        out: list[dict[str, str]] = []
        for key, value in messages.items():
            out.extend(flatten(value, path if key == "_schema" else (*path, str(key))))
        return out
    if isinstance(messages, list | tuple):
        return [item for m in messages for item in flatten(m, path)]
    return [violation(".".join(path), rule_for(str(messages)), str(messages))]


def printable(text: str) -> str:
    """`text` as UTF-8 can carry it: a lone surrogate (JSON's "\\ud800" escape, in a key or a
    value echoed back) becomes the six characters of its escape instead of breaking the answer."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def violation(field: str, rule: str, message: str) -> dict[str, str]:
    return {"field": printable(field), "rule": rule, "message": printable(message)}


def problem_body(status: int, title: str, detail: str | None = None,
                 errors: list[dict[str, str]] | None = None, type_: str | None = None) -> dict:
    body: dict = {"type": TYPE_BASE + (type_ or str(status)), "title": title, "status": status}
    if detail:
        body["detail"] = printable(detail)
    if errors is not None:
        body["errors"] = errors
    return body


def problem_response(status: int, title: str, detail: str | None = None,
                     errors: list[dict[str, str]] | None = None, headers: Mapping[str, str] | None = None,
                     type_: str | None = None) -> Response:
    body = problem_body(status, title, detail, errors, type_)
    return Response(json.dumps(body, ensure_ascii=False), status=status, headers=dict(headers or {}),
                    mimetype=PROBLEM_JSON)


class Problem(HTTPException):
    """Raise anywhere in a request to answer with a problem+json response."""

    def __init__(self, status: int, title: str, detail: str | None = None, *,
                 errors: list[dict[str, str]] | None = None, headers: Mapping[str, str] | None = None,
                 type_: str | None = None):
        super().__init__(description=detail)
        self.code: int = status
        self.title = title
        self.detail = detail
        self.errors = errors
        self.extra_headers = dict(headers or {})
        self.type_ = type_

    def get_response(self, environ=None, scope=None) -> Response:  # werkzeug's hook
        return problem_response(self.code, self.title, self.detail, self.errors, self.extra_headers, self.type_)


_WEBARGS_LOCATIONS = {"json", "query", "form", "headers", "view_args", "path", "cookies", "files"}


def from_http_exception(error: HTTPException) -> Response:
    """Any werkzeug/flask-smorest HTTP error as problem details (webargs' 422 included)."""
    if isinstance(error, Problem):
        return error.get_response()
    data = getattr(error, "data", None) or {}
    errors = None
    messages = data.get("errors", data.get("messages"))
    if messages is not None:
        # webargs nests by location ({"json": {...}}); the location is not part of the path.
        if isinstance(messages, Mapping) and messages and set(messages) <= _WEBARGS_LOCATIONS:
            merged: dict = {}
            for by_location in messages.values():
                merged.update(by_location if isinstance(by_location, Mapping) else {"_schema": by_location})
            messages = merged
        errors = flatten(messages)
    headers = dict(data.get("headers") or {})
    if error.code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        headers.setdefault("Allow", ", ".join(error.valid_methods))
    return problem_response(error.code or 500, error.name, data.get("message") or error.description, errors, headers)
