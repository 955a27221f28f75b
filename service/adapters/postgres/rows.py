"""Reading the one row of a statement that always returns one (a count, an upsert's RETURNING)."""
from __future__ import annotations

from typing import Any

import psycopg


def one_row(cursor: psycopg.Cursor) -> tuple[Any, ...]:
    row = cursor.fetchone()
    if row is None:
        raise psycopg.ProgrammingError("the statement returned no row where it always returns one")
    return row
