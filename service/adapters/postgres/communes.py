"""Communes and the province each belongs to, from the locality tree (any depth)."""
from __future__ import annotations

import psycopg


def commune_provinces(conn: psycopg.Connection) -> dict[str, str]:
    """{commune code: province code} for every commune in `localities`."""
    rows = conn.execute(
        """
        WITH RECURSIVE up (commune, code, level, parent_code) AS (
            SELECT code, code, level, parent_code FROM localities WHERE level = 'commune'
            UNION ALL
            SELECT up.commune, l.code, l.level, l.parent_code
            FROM up JOIN localities l ON l.code = up.parent_code
            WHERE up.level <> 'province'
        )
        SELECT commune, code FROM up WHERE level = 'province'
        """
    ).fetchall()
    return dict(rows)
