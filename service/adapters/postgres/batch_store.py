"""The worker's store (service_layer/applying.py `BatchStore`): applies a batch's rows and
offsets in one transaction on a connection of its own, and records broker resets.

The connection is made on first use by `connect` and dropped when a failure leaves it broken
(a lost connection, a server restart), so that the worker's next try makes a new one; other
failures (a deadlock, a missing privilege) keep it: the transaction was rolled back."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager

import psycopg

from ...service_layer.applying import BatchResult, Offsets, Refused
from . import outbox
from .isolating import apply_isolating
from .pool import LazyConnection
from .sql_files import text


class PostgresBatchStore:
    def __init__(self, connect: Callable[[], psycopg.Connection], consumer_group: str):
        self._connect = connect
        self._conn = LazyConnection(connect)
        self._consumer_group = consumer_group

    def apply(self, enrolments: Sequence[tuple], conferences: Sequence[tuple], retractions: Sequence[tuple],
              offsets: Offsets, locked_python: Callable[[], AbstractContextManager]) -> tuple[BatchResult, list[Refused]]:
        conn = self._conn.get()
        try:
            return apply_isolating(conn, enrolments, conferences, retractions, offsets=offsets,
                                   consumer_group=self._consumer_group, locked_python=locked_python())
        except psycopg.OperationalError:
            if conn.broken:
                self._conn.drop()
            raise

    def forget_partition(self, topic: str, partition: int, reason: str) -> None:
        # A connection of its own, closed after: a reset is rare, and the apply's may be broken.
        with self._connect() as conn:
            conn.execute(text("batch_store", "forget_partition_offsets"), (self._consumer_group, topic, partition))
            outbox.record_reset(conn, reason)

    def close(self) -> None:
        self._conn.drop()
