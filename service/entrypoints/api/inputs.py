"""How the API reads what a client sends: the body (bounded), JSON, query parameters.

- `request_body`: MAX_CONTENT_LENGTH holds for chunked bodies too. werkzeug stops reading a
  body without Content-Length at the limit and hands over what it read (a 3 MiB chunked body
  was cut at 2 MiB and parsed); here one more byte is asked for, and if there is one: 413.
- `parse_json`: orjson first (fast), json's judgement on what orjson refuses; nesting deeper
  than the parser's limit is a 400 naming the body, not a RecursionError.
- `check_query`: no control character (NUL above all: PostgreSQL text cannot hold it) in any
  query parameter's name or value: 400 naming the parameter.
- `BodyParser`: webargs' parser for flask-smorest's `@blp.arguments(..., location="json")`,
  reading through the two functions above.
"""
from __future__ import annotations

import json
import re
from typing import Any

import orjson
from flask import current_app, request
from marshmallow import ValidationError
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import RequestEntityTooLarge

from ...contract.events import no_control_characters
from .problems import Problem, flatten, violation


def request_body(*, cache: bool = True) -> bytes:
    """The request body; 413 when it is over MAX_CONTENT_LENGTH, with or without Content-Length
    (werkzeug refuses a Content-Length over the limit before anything is read)."""
    raw = request.get_data(cache=cache)
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit is not None and request.content_length is None and len(raw) >= limit:
        if request.environ["wsgi.input"].read(1):  # past what werkzeug read: the body is longer
            raise RequestEntityTooLarge()
    return raw


# orjson reads an integer beyond 64 bits (20+ digits) as a float; the contract refuses floats
# where integers are due, so such a body goes to json, which keeps it exact (and the answer
# names the range, not the type).
_LONG_DIGIT_RUN = re.compile(rb"[0-9]{20}")


def parse_json(raw: bytes) -> Any:
    try:
        if _LONG_DIGIT_RUN.search(raw) is None:
            return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass  # json's judgement: it reads what orjson refuses (NaN, huge integers) and words the error
    try:
        return json.loads(raw)
    except RecursionError:
        raise Problem(400, "Bad Request", "the body nests arrays or objects too deeply",
                      errors=[violation("", "json_nesting", "arrays and objects nest too deeply")],
                      type_="malformed-json") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise Problem(400, "Bad Request", f"the body is not valid JSON ({type(exc).__name__})",
                      errors=[violation("", "json_syntax", "the body is not valid JSON")],
                      type_="malformed-json") from None


def check_query() -> None:
    """A `before_request` hook: 400 for a control character in a query parameter."""
    for name, values in request.args.lists():
        try:
            for text in (name, *values):
                no_control_characters(text)
        except ValidationError as err:
            raise Problem(400, "Bad Request", "query parameters must not contain control characters",
                          errors=flatten({name.replace("\x00", "?"): err.messages}), type_="malformed-query") from None


class BodyParser(FlaskParser):
    def _raw_load_json(self, req) -> Any:
        if not is_json_request(req):
            return core.missing
        return parse_json(request_body())
