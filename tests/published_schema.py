"""The published JSON Schema files as a downstream reader sees them: an ECMA-262 validator of
them, and hypothesis strategies that draw documents from them.

Python's `jsonschema` applies `pattern` with Python's `re.search`, where `$` also matches
before a trailing newline; JSON Schema means ECMA-262, where it does not. The validator here
is python-jsonschema with its `pattern` keyword run by `regress`, an ECMA-262 engine.

The strategies walk the schema (hypothesis-jsonschema fails with current hypothesis): each
object draws its required and a random subset of its optional properties, each value from its
own subschema, and now and then a value from another subschema, so that documents land on both
sides of every rule. Which side is the validator's verdict, never the strategy's.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path

import jsonschema
import regress
from hypothesis import strategies as st
from jsonschema import validators

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"


def published(name: str) -> dict:
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=None)
def _ecma(pattern: str) -> regress.Regex:
    return regress.Regex(pattern)


def _ecma_pattern(validator, pattern, instance, schema):
    if validator.is_type(instance, "string") and _ecma(pattern).find(instance) is None:
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r} (ECMA-262)")


EcmaValidator = validators.extend(jsonschema.Draft202012Validator, {"pattern": _ecma_pattern})


def ecma_valid(document: dict, instance: object) -> bool:
    return EcmaValidator(document).is_valid(instance)


def _resolve(root: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = root["$defs"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _scalar(schema: dict) -> st.SearchStrategy:
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "integer":
        low, high = schema.get("minimum"), schema.get("maximum")
        edges = [v for v in (low, high) if v is not None]
        near = [v + d for v in edges for d in (-1, 1)]
        return st.one_of(st.integers(low, high), st.sampled_from(edges + near or [0]))
    if kind == "string":
        if "pattern" not in schema:
            return st.text()
        # Without fullmatch, Python's from_regex lets `$` take a trailing newline, which
        # ECMA-262 refuses: drawn now and then, not for every field of every document.
        pattern = schema["pattern"]
        return st.integers(0, 9).flatmap(lambda n: st.from_regex(pattern, fullmatch=n > 0))
    return st.none()


def _names(clause: dict) -> list[str]:
    """Property names a clause requires, or forbids inside `not` (required / anyOf of required)."""
    return clause.get("required", []) + [n for c in clause.get("anyOf", []) for n in c.get("required", [])]


@st.composite
def _value(draw, root: dict, schema: dict):
    schema = _resolve(root, schema)
    if schema.get("type") == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        required = set(schema.get("required", []))
        out = {n: draw(_value(root, s)) for n, s in properties.items() if n in required or draw(st.booleans())}
        # Most documents should have a chance to be valid: follow the if/then clauses and the
        # anyOf of required names, as a careful producer would ...
        for clause in schema.get("allOf", []):
            if "if" in clause and ecma_valid({"$defs": root.get("$defs", {}), **clause["if"]}, out):
                then = clause["then"]
                for name in then.get("required", []):
                    out.setdefault(name, draw(_value(root, properties[name])))
                for name in _names(then.get("not", {})):
                    out.pop(name, None)
        options = [c.get("required", []) for c in schema.get("anyOf", [])]
        if options and not any(all(n in out for n in names) for names in options):
            for name in draw(st.sampled_from(options)):
                out[name] = draw(_value(root, properties[name]))
        # ... and now and then one that is not.
        if out and draw(st.integers(0, 9)) == 0:
            del out[draw(st.sampled_from(sorted(out)))]
        return out
    if draw(st.integers(0, 19)) == 0:  # a value of another rule, or of another JSON type
        return draw(st.one_of(st.integers(-2, 2**64), st.floats(), st.text(max_size=5), st.booleans(), st.none()))
    return draw(_scalar(schema))


def instances(document: dict) -> st.SearchStrategy:
    """Documents drawn from the published schema `document`, valid and invalid."""
    return _value(document, document)
