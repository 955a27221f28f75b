"""Use case: rebuild every aggregate from a source of events, then swap the rebuild in.

A source (the event store, the events topic, a JSON-lines export) gives batches: rows as the
event store holds them, or topic record values to decode. They are applied to the rebuild's
tables; then, under the apply lock (no live apply in flight), the source catches up to what the
live consumer has applied meanwhile, and the rebuild is swapped in. A rebuild holding fewer
events than the live event store (a topic past its retention, a broker that lost records) is
refused: nothing changes.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..domain.model import CONFERENCE, ENROLMENT, RETRACTION
from .applying import BatchResult, Decode, Offsets, Poison


@dataclass(frozen=True)
class StoredRows:
    """A batch of rows as the event store holds them (pseudonymised, valid already)."""
    enrolments: Sequence[tuple] = ()
    conferences: Sequence[tuple] = ()
    retractions: Sequence[tuple] = ()


Batch = StoredRows | Sequence[bytes]  # stored rows, or topic record values to decode


class CatchUpFailed(RuntimeError):
    """A source could not read what the live consumer applied: nothing is swapped in."""


class RecordSource(Protocol):
    def batches(self) -> Iterator[Batch]: ...

    def catch_up(self, live: Offsets) -> Iterable[Batch]:
        """What the live consumer applied (up to `live`) beyond the batches read; raises if
        it cannot be read (CatchUpFailed: nothing is swapped in)."""


class RebuildTarget(Protocol):
    """The rebuild's tables, beside the live ones."""

    def apply(self, enrolments: Sequence[tuple], conferences: Sequence[tuple],
              retractions: Sequence[tuple]) -> BatchResult: ...

    def lock_and_read_live_offsets(self) -> Offsets:
        """Open the swap's transaction under the apply lock; the live consumer's offsets."""

    def event_counts(self) -> tuple[int, int]:
        """(events in the live event store, events in the rebuild)."""

    def swap_in(self) -> None: ...


class RebuildRefused(Exception):
    def __init__(self, live: int, rebuilt: int):
        self.live, self.rebuilt = live, rebuilt
        super().__init__(
            f"the rebuild holds {rebuilt:,} events, the live event store {live:,}: swapping it in would "
            f"lose {live - rebuilt:,} (the topic's retention, or a broker that lost records)")


@dataclass
class Tally:
    applied: int = 0  # every event stored (enrolments, conferences, retractions, events retracted on arrival)
    duplicates: int = 0
    poison: int = 0  # records that are no valid event (the live worker dead-lettered them already)
    read: int = 0  # records and rows read from the source


def rebuild(target: RebuildTarget, source: RecordSource, decode: Decode,
            on_batch: Callable[[Tally], None] = lambda tally: None) -> Tally:
    """Apply the source to `target`, catch up under the apply lock, refuse a rebuild smaller
    than the live store, else swap it in. `decode` raises Poison for a record that is no valid
    event (the live worker dead-lettered it already): counted, not applied."""
    tally = Tally()
    for batch in source.batches():
        _apply(target, batch, decode, tally)
        on_batch(tally)
    for batch in source.catch_up(target.lock_and_read_live_offsets()):
        _apply(target, batch, decode, tally)
    live, rebuilt = target.event_counts()
    if rebuilt < live:
        raise RebuildRefused(live, rebuilt)
    target.swap_in()
    return tally


def _apply(target: RebuildTarget, batch: Batch, decode: Decode, tally: Tally) -> None:
    if isinstance(batch, StoredRows):
        rows = batch
        tally.read += len(rows.enrolments) + len(rows.conferences) + len(rows.retractions)
    else:
        tally.read += len(batch)
        decoded: dict[str, list[tuple]] = {ENROLMENT: [], CONFERENCE: [], RETRACTION: []}
        for value in batch:
            try:
                store, row = decode(value)
            except Poison:
                tally.poison += 1
                continue
            decoded[store].append(row)
        rows = StoredRows(decoded[ENROLMENT], decoded[CONFERENCE], decoded[RETRACTION])
    result = target.apply(rows.enrolments, rows.conferences, rows.retractions)
    # Retractions count as applied (refused ones were dead-lettered by the live worker), and so
    # do the events they took out before they were counted.
    tally.applied += result.applied + result.conferences + result.retractions + result.retracted_on_arrival
    tally.duplicates += result.duplicates
