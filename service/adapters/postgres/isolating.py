"""Applying a batch in which one record's content may fail in the database.

A record can pass the contract and still be refused by PostgreSQL (a value out of a column's
range, text it cannot store, a constraint): one such record fails its whole batch's
transaction, and retrying it fails again for ever. `apply_isolating` tries the batch as usual
and, when it fails on content, applies it again in halves, each in a savepoint, until the
failing records stand alone: those are refused (for the dead-letter topic), the rest is
applied exactly once, in one transaction together with the batch's offsets.

Which errors come from content: PostgreSQL's data exceptions (SQLSTATE class 22) and
integrity violations (23), and what adapting a value raises in Python (psycopg's dumpers).
Everything else — a lost connection, a deadlock, a missing privilege or table — is the same for
every record of the batch: it propagates, for the caller to retry.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence

import psycopg

from ...service_layer.applying import BatchResult, Refused
from .aggregates import apply_rows

log = logging.getLogger(__name__)

CONTENT_ERRORS = (psycopg.DataError, psycopg.IntegrityError, ValueError, TypeError, ArithmeticError)


def apply_isolating(conn: psycopg.Connection, enrolments: Sequence[tuple], conferences: Sequence[tuple],
                    retractions: Sequence[tuple] = (), **options) -> tuple[BatchResult, list[Refused]]:
    """`apply_rows(conn, enrolments, conferences, retractions, **options)`, and the rows it
    refused because of their content (none, usually)."""
    lists = (enrolments, conferences, retractions)
    try:
        return apply_rows(conn, *lists, **options), []
    except CONTENT_ERRORS as exc:
        first = exc
    log.warning("batch failed on a record's content; splitting it to find the record",
                extra={"error": describe_error(first), "records": sum(map(len, lists))})
    items = [(which, i) for which, rows in enumerate(lists) for i in range(len(rows))]
    results: list[BatchResult] = []
    refused: list[Refused] = []
    with conn.transaction():
        _bisect(conn, items, lists, results, refused, first)
        # the offsets (and status) in the same transaction as the applied rows
        results.append(apply_rows(conn, [], [], [], options.get("offsets"), options.get("consumer_group", "")))
    return combined(results), refused


def _bisect(conn: psycopg.Connection, items: list[tuple[int, int]],
            lists: tuple[Sequence[tuple], Sequence[tuple], Sequence[tuple]],
            results: list[BatchResult], refused: list[Refused], error: Exception | None) -> None:
    if error is None:
        enrolments, conferences, retractions = ([rows[i] for w, i in items if w == which]
                                                for which, rows in enumerate(lists))
        try:  # nested in the caller's transaction: apply_rows's own block is a savepoint
            results.append(apply_rows(conn, enrolments, conferences, retractions))
            return
        except CONTENT_ERRORS as exc:
            error = exc
    if len(items) == 1:
        refused.append(Refused(items[0][0], items[0][1], describe_error(error)))
        return
    middle = len(items) // 2
    _bisect(conn, items[:middle], lists, results, refused, None)
    _bisect(conn, items[middle:], lists, results, refused, None)


def describe_error(exc: BaseException) -> str:
    """The error's type and first line: PostgreSQL's detail lines may quote row values."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def combined(results: Sequence[BatchResult]) -> BatchResult:
    newest = [r.newest_occurred_at for r in results if r.newest_occurred_at is not None]
    return BatchResult(
        applied=sum(r.applied for r in results), conferences=sum(r.conferences for r in results),
        duplicates=sum(r.duplicates for r in results), newest_occurred_at=max(newest, default=None),
        rederived=sum(r.rederived for r in results), lock_wait_s=sum(r.lock_wait_s for r in results),
        lock_held_s=sum(r.lock_held_s for r in results),
        conflicts=frozenset().union(*(r.conflicts for r in results)),
        retractions=sum(r.retractions for r in results), retracted=sum(r.retracted for r in results),
        retracted_on_arrival=sum(r.retracted_on_arrival for r in results),
        refused_retractions=tuple(x for r in results for x in r.refused_retractions),
    )
