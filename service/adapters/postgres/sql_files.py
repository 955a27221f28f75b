"""The SQL text of the PostgreSQL adapters, kept in `.sql` files beside them:
`sql/<module>/<name>.sql` (package data). A file is read on its first use and kept; importing
this module reads nothing.

A file may hold `{name}` placeholders for pieces composed in Python with `psycopg.sql` (shared
fragments, whitelisted filters, column lists): `composed()` fills them.
"""
from __future__ import annotations

import re
from functools import cache
from importlib.resources import files

from psycopg import sql


@cache
def text(module: str, name: str) -> str:
    """The SQL of `sql/<module>/<name>.sql`, without its trailing newline."""
    return files(__package__).joinpath("sql", module, f"{name}.sql").read_text(encoding="utf-8").rstrip("\n")


def composed(module: str, name: str, /, **pieces: sql.Composable) -> sql.Composed:
    """`sql/<module>/<name>.sql` with its `{placeholders}` filled by `pieces`."""
    return sql.SQL(text(module, name)).format(**pieces)


def statements(module: str, name: str, /, **pieces: sql.Composable) -> list[sql.Composed]:
    """The statements of a file that holds several, each ended by `;` at the end of a line, in
    order, each with its `{placeholders}` filled by `pieces`."""
    parts = (part.strip() for part in re.split(r";[ \t]*\n", text(module, name)))
    return [sql.SQL(part).format(**pieces) for part in parts if part]
