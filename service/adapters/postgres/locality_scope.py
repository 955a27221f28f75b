"""Access by locality: the SQL that keeps a query inside a reader's scope (domain/access.py: the
roots of the locality subtrees it may see; none = the nation), in sql/locality_scope/. Used by
every report query (reports.py)."""
from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from ...domain.access import OutOfScope, Scope
from .sql_files import composed, text


def in_scope(column: str) -> sql.Composed:
    """The condition that keeps a reader's rows: `column` (a locality code) is in one of the
    subtrees whose roots are bound to its one parameter."""
    return composed("locality_scope", "in_scope", column=sql.Identifier(*column.split(".")))


def check_in_scope(conn: psycopg.Connection, scope: Scope, named: dict[str, str | None]) -> None:
    """Raise OutOfScope for the first named locality (parameter -> code) outside `scope`."""
    given = {k: v for k, v in named.items() if v is not None}
    if scope.nation or not given:
        return
    outside = {code for (code,) in conn.execute(
        text("locality_scope", "outside_scope"), (list(given.values()), sorted(scope.roots)))}
    for parameter, code in given.items():
        if code in outside:
            raise OutOfScope(parameter, code, scope)


def scope_condition(scope: Scope, column: str = "locality_code") -> tuple[list[sql.Composable], list[Any]]:
    """([the condition], [its parameter]) that keeps `scope`'s rows; ([], []) for the nation."""
    if scope.nation:
        return [], []
    return [in_scope(column)], [sorted(scope.roots)]


def scope_localities(conn: psycopg.Connection, scope: Scope) -> list[dict[str, Any]]:
    """The roots a reader sees: its subtree roots, or the nation's root(s)."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(text("locality_scope", "scope_localities"),
                           {"nation": scope.nation, "roots": sorted(scope.roots)}).fetchall()
