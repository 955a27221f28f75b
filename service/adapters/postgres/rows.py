"""Reading the one row of a statement that always returns one (a count, an upsert's RETURNING),
and the shape of a statement to run later (in a pipeline) with its parameters."""
from __future__ import annotations

from typing import Any

import psycopg
from psycopg.abc import Params

Statement = tuple[str, Params | None]  # (SQL, its parameters or None)


def one_row(cursor: psycopg.Cursor) -> tuple[Any, ...]:
    row = cursor.fetchone()
    if row is None:
        raise psycopg.ProgrammingError("the statement returned no row where it always returns one")
    return row
