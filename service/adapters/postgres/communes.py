"""Communes and the province each belongs to, from the locality tree (any depth;
`sql/communes/commune_provinces.sql`)."""
from __future__ import annotations

import psycopg

from .sql_files import text


def commune_provinces(conn: psycopg.Connection) -> dict[str, str]:
    """{commune code: province code} for every commune in `localities`."""
    return dict(conn.execute(text("communes", "commune_provinces")).fetchall())
