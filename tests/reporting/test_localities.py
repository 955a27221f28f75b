"""The locality loader: today's tree, idempotence, dry run, CSV validation, closure."""
from __future__ import annotations

import psycopg
import pytest

from service.adapters.postgres.reference import (
    load_localities_csv,
    load_vietnam_localities,
)

pytestmark = pytest.mark.integration


def counts(url: str) -> dict:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT level, count(*) FROM localities GROUP BY level").fetchall()
        closure = conn.execute("SELECT count(*) FROM locality_closure").fetchone()[0]
    return dict(rows) | {"closure": closure}


def test_vietnam_tree_loads_once_and_is_idempotent(database_url):
    dry = load_vietnam_localities(database_url, dry_run=True)
    assert (dry.added, dry.changed, dry.rejected) == (3356, 0, [])
    assert counts(database_url) == {"closure": 0}

    first = load_vietnam_localities(database_url)
    assert (first.added, first.changed, first.unchanged, first.rejected) == (3356, 0, 0, [])
    # 3,356 self pairs + 3,355 parent pairs + 3,321 commune->nation pairs
    assert counts(database_url) == {"nation": 1, "province": 34, "commune": 3321, "closure": 10032}

    again = load_vietnam_localities(database_url)
    assert (again.added, again.changed, again.unchanged) == (0, 0, 3356)
    with psycopg.connect(database_url) as conn:
        assert conn.execute(
            "SELECT name, parent_code FROM localities WHERE code = '00070'"
        ).fetchone() == ("Phường Hoàn Kiếm", "01")
        assert conn.execute(
            "SELECT depth FROM locality_closure WHERE ancestor_code = 'VN' AND descendant_code = '00070'"
        ).fetchone() == (2,)


def test_csv_tree_with_districts_rejects_bad_rows(database_url, tmp_path):
    path = tmp_path / "old.csv"
    path.write_text(
        "code,name,level,parent_code\n"
        "VN,Việt Nam,nation,\n"
        "87,Tỉnh Đồng Tháp,province,VN\n"
        "866,Thành phố Sa Đéc,district,87\n"
        "30001,Phường 1,commune,866\n"
        "30002,Phường 2,commune,999\n"  # unknown parent
        "30003,Phường 3,ward,866\n"  # bad level
        "A1,Loop A,district,A2\n"  # cycle A1 <-> A2
        "A2,Loop B,district,A1\n"
        "30004,Phường 4,province,866\n"  # a province under a district
        "30005,Phường 5,commune,866\n"
        "30005,Phường 5 again,commune,866\n",  # duplicate
        encoding="utf-8",
    )
    dry = load_localities_csv(database_url, path, dry_run=True)
    reasons = {r.code: r.reason for r in dry.rejected}
    assert "unknown parent_code 999" in reasons["30002"]
    assert "level must be" in reasons["30003"]
    assert reasons["A1"] == reasons["A2"] == "parent cycle"
    assert "cannot sit under" in reasons["30004"]
    assert "duplicate" in reasons["30005"]
    assert (dry.added, len(dry.rejected)) == (5, 6)
    assert counts(database_url) == {"closure": 0}

    report = load_localities_csv(database_url, path)
    assert report.added == 5
    with psycopg.connect(database_url) as conn:
        assert conn.execute(
            "SELECT ancestor_code, depth FROM locality_closure WHERE descendant_code = '30001' ORDER BY depth"
        ).fetchall() == [("30001", 0), ("866", 1), ("87", 2), ("VN", 3)]

    path.write_text(
        "code,name,level,parent_code\nVN,Việt Nam,nation,\n87,Đồng Tháp,province,VN\n", encoding="utf-8"
    )
    renamed = load_localities_csv(database_url, path)
    assert (renamed.added, renamed.changed, renamed.unchanged) == (0, 1, 1)
