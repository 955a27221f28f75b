"""The dated contribution plausibility rules: load the seeds CSV, read them back
(`sql/contribution_rules/*.sql`)."""
from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import psycopg
import seeds
from psycopg import sql

from ...domain.contribution import ContributionRule
from ...domain.model import SupportGroup
from .sql_files import composed, text

SEED_FILE = seeds.path("contribution_rules.csv")
COLUMNS = (
    "effective_from", "effective_to", "poverty_line_vnd", "reference_level_vnd", "income_cap_multiple",
    "contribution_rate", "allowed_months", "max_advance_months", "max_advance_discount", "support_poor",
    "support_near_poor", "support_ethnic_minority", "support_other", "rounding_tolerance_vnd", "source",
)
RULE_COLUMNS = COLUMNS[:-1]  # what a ContributionRule is built from (not the `source` note)


def _columns(names: tuple[str, ...]) -> sql.Composable:
    return sql.SQL(", ").join(map(sql.Identifier, names))


def read_csv(path: Path) -> list[tuple]:
    """Rows of the CSV as table tuples (allowed_months '1|3|6|12' becomes an int array)."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise ValueError(f"{path}: columns must be {','.join(COLUMNS)}")
        rows = []
        for line in reader:
            row = dict(line)
            row["effective_to"] = row["effective_to"] or None
            row["allowed_months"] = [int(m) for m in row["allowed_months"].split("|")]
            rows.append(tuple(row[c] for c in COLUMNS))
        return rows


def replace_all(conn: psycopg.Connection, rows: list[tuple]) -> int:
    """Make the table hold exactly `rows` (in the caller's transaction)."""
    conn.execute(text("contribution_rules", "delete_all"))
    with conn.cursor().copy(composed("contribution_rules", "copy_in", columns=_columns(COLUMNS))) as copy:
        for row in rows:
            copy.write_row(row)
    return len(rows)


def load_seed(url: str, path: Path = SEED_FILE) -> int:
    rows = read_csv(path)
    with psycopg.connect(url) as conn:
        return replace_all(conn, rows)


def read_rules(conn: psycopg.Connection) -> list[ContributionRule]:
    rows = conn.execute(composed("contribution_rules", "read_rules", columns=_columns(RULE_COLUMNS))).fetchall()
    return [
        ContributionRule(
            effective_from=r[0], effective_to=r[1], poverty_line_vnd=int(r[2]), reference_level_vnd=int(r[3]),
            income_cap_multiple=r[4], contribution_rate=Decimal(r[5]), allowed_months=frozenset(r[6]),
            max_advance_months=r[7], max_advance_discount=Decimal(r[8]),
            support={SupportGroup.POOR: Decimal(r[9]), SupportGroup.NEAR_POOR: Decimal(r[10]),
                     SupportGroup.ETHNIC_MINORITY: Decimal(r[11]), SupportGroup.OTHER: Decimal(r[12])},
            rounding_tolerance_vnd=r[13],
        )
        for r in rows
    ]
