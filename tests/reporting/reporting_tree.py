"""A small locality tree for tests that post events: two provinces with three communes each
(today's two-level tree under the nation)."""
from __future__ import annotations

from service.adapters.postgres.reference import LocalityRow, load_localities

TREE = [LocalityRow("VN", "Việt Nam", "nation", None),
        LocalityRow("87", "Tỉnh Đồng Tháp", "province", "VN"), LocalityRow("30", "Tỉnh Hải Dương", "province", "VN"),
        *[LocalityRow(f"87{n:03d}", f"Xã 87{n:03d}", "commune", "87") for n in (1, 2, 3)],
        *[LocalityRow(f"30{n:03d}", f"Xã 30{n:03d}", "commune", "30") for n in (1, 2, 3)]]
COMMUNES = [row.code for row in TREE if row.level == "commune"]
PROVINCES = [row.code for row in TREE if row.level == "province"]


def load_tree(url: str) -> None:
    report = load_localities(url, TREE)
    assert not report.rejected, report.rejected
