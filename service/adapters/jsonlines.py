"""A JSON-lines export of the events topic (one record value a line) as a rebuild's source
(`enrolment replay --from-file`; service_layer.rebuild.RecordSource)."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ..service_layer.applying import Offsets


class JsonLinesFile:
    def __init__(self, path: Path, batch: int):
        self.path, self.batch = path, batch

    def total(self) -> int:
        with self.path.open("rb") as lines:
            return sum(1 for _ in lines)

    def batches(self) -> Iterator[list[bytes]]:
        chunk: list[bytes] = []
        with self.path.open("rb") as lines:
            for line in lines:
                line = line.strip()
                if line:
                    chunk.append(line)
                if len(chunk) >= self.batch:
                    yield chunk
                    chunk = []
        if chunk:
            yield chunk

    def catch_up(self, live: Offsets) -> list[list[bytes]]:
        # A file holds no offsets: what the live consumer applied beyond it is not in it. A
        # rebuild that lacks events is refused by the use case's count.
        return []
