"""What loading reference data (localities, denominators, targets) did: rows added, changed,
unchanged, and the rejected ones with their line and reason."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Rejected:
    line: int  # 1-based data line (CSV header excluded) or position in the input
    code: str
    reason: str


@dataclass
class LoadReport:
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    dry_run: bool = False

    @property
    def total(self) -> int:
        return self.added + self.changed + self.unchanged + len(self.rejected)

    def summary(self) -> str:
        dry = " (dry run: nothing written)" if self.dry_run else ""
        return (f"{self.added:,} added, {self.changed:,} changed, {self.unchanged:,} unchanged, "
                f"{len(self.rejected):,} rejected{dry}")
