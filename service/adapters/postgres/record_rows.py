"""Decoding one topic record into the staging row its store takes (the worker's decode step):
the worker, `enrolment replay` and `enrolment deadletters` get it from service/bootstrap.py."""
from __future__ import annotations

import orjson
from marshmallow import ValidationError

from ...contract.digest import content_digest
from ...contract.events import POISON, decode_record
from ...contract.fast_body import fast_record
from ...domain.identity import Pseudonymiser
from ...service_layer.applying import Poison
from .staging_rows import event_row

BIGINT_MAX = 2**63 - 1


def record_row(value: bytes, pseudonymiser: Pseudonymiser, key: bytes | None = None,
               fast: bool = True) -> tuple[str, tuple]:
    """(its store: domain.model.ENROLMENT, CONFERENCE or RETRACTION, staging row) of one topic
    record; raises one of POISON if the record
    is not a valid event under the contract. Plainly valid records take the fast path
    (`contract.fast_body.fast_record`); marshmallow decides about the rest. With `key`, the
    row carries the record's content digest (contract.digest), else None."""
    try:
        record = orjson.loads(value)
    except orjson.JSONDecodeError:  # not JSON, or JSON orjson refuses (NaN, huge integers, depth > 1024)
        record = None
    is_object = type(record) is dict
    digest = content_digest(record, key) if key is not None and is_object else None
    event = fast_record(record) if fast and is_object else None  # after the digest: it pops the envelope
    if event is not None:
        return event_row(event, pseudonymiser, digest)
    row = event_row(decode_record(value), pseudonymiser, digest, value)
    # Valid under the contract but not storable: PostgreSQL text cannot hold NUL, bigint stops
    # at 2**63 - 1. Refused here, as poison, rather than failing the whole batch's transaction.
    # (The fast path's own rules already refuse both.)
    for v in row[1]:
        if type(v) is str and "\x00" in v:
            raise ValueError("a text field contains a NUL character")
        if type(v) is int and not -BIGINT_MAX <= v <= BIGINT_MAX:
            raise ValueError("a number is too large to store")
    return row


def describe(exc: Exception) -> str:
    """The error a dead letter carries for a record that did not decode."""
    if isinstance(exc, ValidationError):
        return f"contract: {exc.messages}"
    return f"{type(exc).__name__}: {exc}"


class RecordDecoder:
    """The worker's decode step (`service_layer.applying.Decode`): `record_row` with the
    service's pseudonymiser and digest key, raising Poison with the dead letter's error."""

    def __init__(self, pseudonymiser: Pseudonymiser, key: bytes):
        self._pseudonymiser, self._key = pseudonymiser, key

    def __call__(self, value: bytes) -> tuple[str, tuple]:
        try:
            return record_row(value, self._pseudonymiser, self._key)
        except POISON as exc:
            raise Poison(describe(exc)) from exc
