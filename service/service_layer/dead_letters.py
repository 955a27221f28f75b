"""Use case: publish dead letters again to the events topic (`enrolment deadletters replay`),
as they are (e.g. after a contract fix in the worker) or from a fixed export. The worker
validates a replayed record again; one still broken returns to the dead letters.
"""
from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any, Protocol

KeyAndValue = tuple[bytes | None, bytes | None]  # (key, value)


class DeadLetter(Protocol):
    key: bytes | None
    value: bytes | None
    dead_letter_offset: int | None


def redrive_letters(letters: Sequence[DeadLetter], offsets: Collection[int],
                    publish: Callable[[Sequence[KeyAndValue]], None]) -> int:
    """Publish the letters at `offsets` (none given: all), key and value unchanged; how many."""
    chosen = [(d.key, d.value) for d in letters if not offsets or d.dead_letter_offset in offsets]
    publish(chosen)
    return len(chosen)


def redrive_export(lines: Sequence[dict[str, Any]], offsets: Collection[int],
                   key_of: Callable[[bytes], bytes | None], publish: Callable[[Sequence[KeyAndValue]], None]) -> int:
    """Publish the `value` of the export's lines whose `dead_letter_offset` is in `offsets`
    (none given: all), each under the key the API would give it (`key_of`; None when it still
    does not decode); how many."""
    chosen: list[KeyAndValue] = []
    for line in lines:
        if not offsets or line.get("dead_letter_offset") in offsets:
            value = line["value"].encode()
            chosen.append((key_of(value), value))
    publish(chosen)
    return len(chosen)
