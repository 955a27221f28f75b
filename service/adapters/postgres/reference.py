"""Reference data loaders: the locality tree (with its closure), denominators and targets.

Every loader is set-based: rows are COPYed into a temporary table, validated there with SQL,
and merged with `INSERT … ON CONFLICT … DO UPDATE … WHERE <changed>`. Rejected rows are
reported with their line and reason, never silently dropped. A dry run does all of it in a
transaction that is rolled back, so its report is exactly what a real load would do.
"""
from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import seeds

from .rows import one_row

NATION_CODE = "VN"
NATION_NAME = "Việt Nam"
LEVELS = ("nation", "province", "district", "commune")

Progress = Callable[[str], None]


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


@dataclass(frozen=True)
class LocalityRow:
    code: str
    name: str
    level: str
    parent_code: str | None


@contextmanager
def _connection(conn_or_url: psycopg.Connection | str) -> Iterator[psycopg.Connection]:
    if isinstance(conn_or_url, str):
        with psycopg.connect(conn_or_url) as conn:
            yield conn
    else:
        yield conn_or_url


@contextmanager
def _unit_of_work(conn: psycopg.Connection, dry_run: bool) -> Iterator[None]:
    """A transaction (savepoint inside an open one) that a dry run rolls back."""
    with conn.transaction():
        yield
        if dry_run:
            raise psycopg.Rollback()  # leaves this block only, silently, by design


# --------------------------------------------------------------------------- localities


def vietnam_locality_rows() -> list[LocalityRow]:
    """Today's tree (since 1 July 2025) from `vietnam-provinces`: VN > 34 provinces > 3,321 communes.

    Codes are the official zero-padded ones: provinces 2 digits ("01"), communes 5 ("00070").
    """
    from vietnam_provinces import Province, Ward

    rows = [LocalityRow(NATION_CODE, NATION_NAME, "nation", None)]
    rows += [
        LocalityRow(f"{p.code.value:02d}", p.name, "province", NATION_CODE) for p in Province.iter_all()
    ]
    rows += [
        LocalityRow(f"{w.code.value:05d}", w.name, "commune", f"{w.province_code.value:02d}")
        for w in Ward.iter_all()
    ]
    return rows


def read_locality_csv(path: Path) -> list[LocalityRow]:
    """Rows of a `code,name,level,parent_code` CSV (header required; empty parent = root)."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = {"code", "name", "level", "parent_code"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        return [
            LocalityRow(
                (r["code"] or "").strip(),
                (r["name"] or "").strip(),
                (r["level"] or "").strip(),
                (r["parent_code"] or "").strip() or None,
            )
            for r in reader
        ]


_STAGE_LOCALITIES = """
CREATE TEMP TABLE loc_in (
    line int, code text, name text, level text, parent_code text, reason text
) ON COMMIT DROP
"""

# Validation, in order; each step only looks at rows not rejected by an earlier one.
_VALIDATE_LOCALITIES = (
    """UPDATE loc_in SET reason = 'code is empty' WHERE coalesce(code, '') = ''""",
    """UPDATE loc_in SET reason = 'name is empty' WHERE reason IS NULL AND coalesce(name, '') = ''""",
    """UPDATE loc_in SET reason = 'level must be one of nation, province, district, commune'
       WHERE reason IS NULL AND level NOT IN ('nation', 'province', 'district', 'commune')""",
    """UPDATE loc_in SET reason = 'a nation has no parent; every other level needs one'
       WHERE reason IS NULL AND (level = 'nation') <> (parent_code IS NULL)""",
    """UPDATE loc_in SET reason = 'duplicate code (first occurrence on line ' || f.first || ' kept)'
       FROM (SELECT code, min(line) AS first FROM loc_in WHERE reason IS NULL GROUP BY code) f
       WHERE loc_in.reason IS NULL AND loc_in.code = f.code AND loc_in.line <> f.first""",
    """UPDATE loc_in SET reason = 'its own parent' WHERE reason IS NULL AND parent_code = code""",
    # Unknown parent: neither in this input (valid rows) nor already loaded.
    """UPDATE loc_in c SET reason = 'unknown parent_code ' || c.parent_code
       WHERE c.reason IS NULL AND c.parent_code IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM loc_in p WHERE p.code = c.parent_code AND p.reason IS NULL)
         AND NOT EXISTS (SELECT 1 FROM localities l WHERE l.code = c.parent_code
                          AND NOT EXISTS (SELECT 1 FROM loc_in x WHERE x.code = l.code))""",
)

_REJECT_CYCLES = """
WITH RECURSIVE up(code, ancestor, steps) AS (
    SELECT code, parent_code, 1 FROM loc_in WHERE reason IS NULL AND parent_code IS NOT NULL
    UNION ALL
    SELECT up.code, i.parent_code, up.steps + 1
    FROM up JOIN loc_in i ON i.code = up.ancestor AND i.reason IS NULL
    WHERE up.ancestor <> up.code AND i.parent_code IS NOT NULL AND up.steps < 64
)
UPDATE loc_in SET reason = 'parent cycle'
WHERE reason IS NULL AND code IN (SELECT code FROM up WHERE ancestor = code)
"""

# The tree after the load (valid input rows override loaded ones): every node must hang off a
# nation root through parents of strictly higher levels; what doesn't is in a cycle or under a
# rejected row.
_REJECT_UNREACHABLE = """
WITH RECURSIVE
rank(level, r) AS (VALUES ('nation', 0), ('province', 1), ('district', 2), ('commune', 3)),
tree AS (
    SELECT code, level, parent_code FROM loc_in WHERE reason IS NULL
    UNION ALL
    SELECT code, level, parent_code FROM localities l
    WHERE NOT EXISTS (SELECT 1 FROM loc_in i WHERE i.code = l.code)
),
reach AS (
    SELECT t.code, r.r FROM tree t JOIN rank r USING (level) WHERE t.parent_code IS NULL
    UNION ALL
    SELECT t.code, r.r FROM tree t JOIN rank r USING (level)
    JOIN reach p ON t.parent_code = p.code
    WHERE r.r > p.r
)
UPDATE loc_in SET reason = CASE
        WHEN EXISTS (SELECT 1 FROM tree t JOIN rank rc ON rc.level = t.level
                     JOIN tree p ON p.code = t.parent_code JOIN rank rp ON rp.level = p.level
                     WHERE t.code = loc_in.code AND rp.r >= rc.r)
        THEN 'level ' || level || ' cannot sit under its parent''s level'
        ELSE 'not connected to a nation root (parent cycle, or an ancestor was rejected)'
    END
WHERE reason IS NULL AND code NOT IN (SELECT code FROM reach)
"""

_MERGE_LOCALITIES = """
WITH merged AS (
    INSERT INTO localities AS l (code, name, level, parent_code)
    SELECT code, name, level, parent_code FROM loc_in WHERE reason IS NULL
    ON CONFLICT (code) DO UPDATE
        SET name = excluded.name, level = excluded.level, parent_code = excluded.parent_code
        WHERE (l.name, l.level, l.parent_code) IS DISTINCT FROM
              (excluded.name, excluded.level, excluded.parent_code)
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM merged
"""

# The closure is recomputed from `localities` and merged: only differences are written.
_REBUILD_CLOSURE = (
    """CREATE TEMP TABLE closure_new ON COMMIT DROP AS
       WITH RECURSIVE c(ancestor_code, descendant_code, depth) AS (
           SELECT code, code, 0 FROM localities
           UNION ALL
           SELECT l.parent_code, c.descendant_code, c.depth + 1
           FROM c JOIN localities l ON l.code = c.ancestor_code
           WHERE l.parent_code IS NOT NULL AND c.depth < 32
       ) SELECT ancestor_code, descendant_code, depth::smallint FROM c""",
    """DELETE FROM locality_closure o WHERE NOT EXISTS (
           SELECT 1 FROM closure_new n
           WHERE n.ancestor_code = o.ancestor_code AND n.descendant_code = o.descendant_code)""",
    """INSERT INTO locality_closure AS o (ancestor_code, descendant_code, depth)
       SELECT ancestor_code, descendant_code, depth FROM closure_new
       ON CONFLICT (ancestor_code, descendant_code) DO UPDATE SET depth = excluded.depth
       WHERE o.depth <> excluded.depth""",
)


def load_localities(
    conn_or_url: psycopg.Connection | str,
    rows: Iterable[LocalityRow],
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> LoadReport:
    """Merge a locality tree into `localities` and keep `locality_closure` in step. Idempotent."""
    say = progress or (lambda _msg: None)
    report = LoadReport(dry_run=dry_run)
    with _connection(conn_or_url) as conn, _unit_of_work(conn, dry_run):
        conn.execute("DROP TABLE IF EXISTS loc_in, closure_new")
        conn.execute(_STAGE_LOCALITIES)
        say("copying rows")
        with conn.cursor().copy("COPY loc_in (line, code, name, level, parent_code) FROM STDIN") as cp:
            for line, r in enumerate(rows, start=1):
                cp.write_row((line, r.code, r.name, r.level, r.parent_code))
        say("validating")
        for statement in _VALIDATE_LOCALITIES:
            conn.execute(statement)
        conn.execute(_REJECT_CYCLES)
        conn.execute(_REJECT_UNREACHABLE)
        report.rejected = [
            Rejected(line, code or "", reason)
            for line, code, reason in conn.execute(
                "SELECT line, code, reason FROM loc_in WHERE reason IS NOT NULL ORDER BY line"
            )
        ]
        say("merging")
        report.added, report.changed = one_row(conn.execute(_MERGE_LOCALITIES))
        (valid,) = one_row(conn.execute("SELECT count(*) FROM loc_in WHERE reason IS NULL"))
        report.unchanged = valid - report.added - report.changed
        say("rebuilding the closure")
        for statement in _REBUILD_CLOSURE:
            conn.execute(statement)
    return report


def load_vietnam_localities(
    conn_or_url: psycopg.Connection | str, dry_run: bool = False, progress: Progress | None = None
) -> LoadReport:
    """Load today's 34 provinces and 3,321 communes under the nation root `VN`. Idempotent."""
    return load_localities(conn_or_url, vietnam_locality_rows(), dry_run=dry_run, progress=progress)


def load_localities_csv(
    conn_or_url: psycopg.Connection | str, path: Path, dry_run: bool = False,
    progress: Progress | None = None,
) -> LoadReport:
    """Load any tree from a `code,name,level,parent_code` CSV (e.g. the pre-2025 districts)."""
    return load_localities(conn_or_url, read_locality_csv(path), dry_run=dry_run, progress=progress)


# --------------------------------------------------------------------------- denominators, targets

MEASURES = ("labour_force", "population", "in_scope_bhxh_bb", "in_scope_bhtn")
SUBJECTS = ("BHXH_BB", "BHXH_TN", "BHTN", "BHYT_HGD", "BHYT_KHAC", "BHXH", "BHYT", "conferences")
DENOMINATOR_COLUMNS = ("locality_code", "year", "measure", "value", "source")
TARGET_COLUMNS = (
    "locality_code", "year", "subject", "basis", "target_count", "target_rate_pct",
    "denominator_measure", "source",
)

_INT = r"^[0-9]{1,15}$"
_YEAR = r"^(19[9][0-9]|20[0-9][0-9]|2100)$"
_PCT = r"^[0-9]{1,3}(\.[0-9]{1,3})?$"


@dataclass(frozen=True)
class _Staged:
    """A reference table loaded through a text-typed staging table and SQL validation."""

    table: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    casts: dict[str, str]  # column -> SQL type of the target table
    checks: tuple[tuple[str, str], ...]  # (SQL condition that is TRUE for a bad row, reason)


_DENOMINATORS = _Staged(
    table="denominators",
    columns=DENOMINATOR_COLUMNS,
    key=("locality_code", "year", "measure"),
    casts={"year": "integer", "value": "bigint"},
    checks=(
        ("coalesce(locality_code, '') = ''", "locality_code is empty"),
        ("NOT EXISTS (SELECT 1 FROM localities l WHERE l.code = s.locality_code)",
         "unknown locality_code (load localities first)"),
        (f"coalesce(year, '') !~ '{_YEAR}'", "year must be a year between 1990 and 2100"),
        (f"coalesce(measure, '') NOT IN ({', '.join(repr(m) for m in MEASURES)})",
         "measure must be one of " + ", ".join(MEASURES)),
        (f"coalesce(value, '') !~ '{_INT}'", "value must be a whole number >= 0"),
    ),
)

_TARGETS = _Staged(
    table="targets",
    columns=TARGET_COLUMNS,
    key=("locality_code", "year", "subject", "basis"),
    casts={"year": "integer", "target_count": "bigint", "target_rate_pct": "numeric"},
    checks=(
        ("coalesce(locality_code, '') = ''", "locality_code is empty"),
        ("NOT EXISTS (SELECT 1 FROM localities l WHERE l.code = s.locality_code)",
         "unknown locality_code (load localities first)"),
        (f"coalesce(year, '') !~ '{_YEAR}'", "year must be a year between 1990 and 2100"),
        (f"coalesce(subject, '') NOT IN ({', '.join(repr(m) for m in SUBJECTS)})",
         "subject must be one of " + ", ".join(SUBJECTS)),
        ("coalesce(basis, '') NOT IN ('active', 'new', 'held')", "basis must be active, new or held"),
        ("(subject = 'conferences') <> (basis = 'held')", "basis held goes with subject conferences, and only with it"),
        ("(target_count IS NULL) = (target_rate_pct IS NULL)", "give exactly one of target_count and target_rate_pct"),
        (f"target_count IS NOT NULL AND target_count !~ '{_INT}'", "target_count must be a whole number >= 0"),
        (f"target_rate_pct IS NOT NULL AND CASE WHEN target_rate_pct ~ '{_PCT}'"
         " THEN target_rate_pct::numeric NOT BETWEEN 0.001 AND 100 ELSE true END",
         "target_rate_pct must be a percentage in (0, 100] with at most 3 decimals"),
        ("(target_rate_pct IS NULL) <> (denominator_measure IS NULL)",
         "a rate target needs denominator_measure (and a count target none)"),
        (f"denominator_measure IS NOT NULL AND denominator_measure NOT IN ({', '.join(repr(m) for m in MEASURES)})",
         "denominator_measure must be one of " + ", ".join(MEASURES)),
    ),
)


def _load_staged(
    conn_or_url: psycopg.Connection | str, spec: _Staged, rows: Iterable[dict[str, str | None]],
    dry_run: bool, progress: Progress | None, within: Iterable[str] = (),
) -> LoadReport:
    say = progress or (lambda _msg: None)
    report = LoadReport(dry_run=dry_run)
    cols = ", ".join(spec.columns)
    typed = ", ".join(
        f"{c}::{spec.casts[c]}" if c in spec.casts else (f"coalesce({c}, '')" if c == "source" else c)
        for c in spec.columns
    )
    changed = " OR ".join(f"t.{c} IS DISTINCT FROM excluded.{c}" for c in spec.columns if c not in spec.key)
    updates = ", ".join(f"{c} = excluded.{c}" for c in spec.columns if c not in spec.key)
    with _connection(conn_or_url) as conn, _unit_of_work(conn, dry_run):
        conn.execute("DROP TABLE IF EXISTS ref_in")
        conn.execute(
            f"CREATE TEMP TABLE ref_in (line int, {', '.join(f'{c} text' for c in spec.columns)}, reason text)"
            " ON COMMIT DROP"
        )
        say("copying rows")
        with conn.cursor().copy(f"COPY ref_in (line, {cols}) FROM STDIN") as cp:
            for line, row in enumerate(rows, start=1):
                cp.write_row((line, *((row.get(c) or None) for c in spec.columns)))
        say("validating")
        for condition, reason in spec.checks:
            conn.execute(
                f"UPDATE ref_in s SET reason = %s WHERE reason IS NULL AND ({condition})", (reason,)
            )
        roots = sorted(set(within))
        if roots:  # a writer limited to localities (a reference token's) writes only inside them
            conn.execute(
                "UPDATE ref_in s SET reason = %s WHERE reason IS NULL AND NOT EXISTS (SELECT 1 FROM locality_closure c"
                " WHERE c.ancestor_code = ANY(%s) AND c.descendant_code = s.locality_code)",
                (f"outside this token's localities ({', '.join(roots)})", roots))
        key = ", ".join(spec.key)
        conn.execute(
            f"""UPDATE ref_in s SET reason = 'duplicate key (first occurrence on line ' || f.first || ' kept)'
                FROM (SELECT {key}, min(line) AS first FROM ref_in WHERE reason IS NULL GROUP BY {key}) f
                WHERE s.reason IS NULL AND s.line <> f.first
                  AND {' AND '.join(f's.{c} = f.{c}' for c in spec.key)}"""
        )
        report.rejected = [
            Rejected(line, code or "", reason)
            for line, code, reason in conn.execute(
                "SELECT line, locality_code, reason FROM ref_in WHERE reason IS NOT NULL ORDER BY line"
            )
        ]
        say("merging")
        report.added, report.changed = one_row(conn.execute(
            f"""WITH merged AS (
                    INSERT INTO {spec.table} AS t ({cols})
                    SELECT {typed} FROM ref_in WHERE reason IS NULL
                    ON CONFLICT ({key}) DO UPDATE SET {updates}, loaded_at = now() WHERE {changed}
                    RETURNING (xmax = 0) AS inserted)
                SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM merged"""
        ))
        (valid,) = one_row(conn.execute("SELECT count(*) FROM ref_in WHERE reason IS NULL"))
        report.unchanged = valid - report.added - report.changed
    return report


def _read_csv(path: Path, columns: tuple[str, ...], required: tuple[str, ...]) -> list[dict[str, str | None]]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = set(required) - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        return [{c: (r.get(c) or "").strip() or None for c in columns} for r in reader]


def load_denominators(
    conn_or_url: psycopg.Connection | str, rows: Iterable[dict[str, str | None]],
    dry_run: bool = False, progress: Progress | None = None, within: Iterable[str] = (),
) -> LoadReport:
    """Merge denominator rows (locality_code, year, measure, value[, source]); idempotent."""
    rows = [{c: (None if r.get(c) is None else str(r[c])) for c in DENOMINATOR_COLUMNS} for r in rows]
    return _load_staged(conn_or_url, _DENOMINATORS, rows, dry_run, progress, within)


def load_denominators_csv(
    conn_or_url: psycopg.Connection | str, path: Path, dry_run: bool = False,
    progress: Progress | None = None, within: Iterable[str] = (),
) -> LoadReport:
    """`within`: the subtree roots the writer is limited to (rows elsewhere are rejected)."""
    rows = _read_csv(path, DENOMINATOR_COLUMNS, DENOMINATOR_COLUMNS[:4])
    return _load_staged(conn_or_url, _DENOMINATORS, rows, dry_run, progress, within)


def load_targets(
    conn_or_url: psycopg.Connection | str, rows: Iterable[dict[str, str | None]],
    dry_run: bool = False, progress: Progress | None = None, within: Iterable[str] = (),
) -> LoadReport:
    """Merge target rows (see TARGET_COLUMNS); idempotent."""
    rows = [{c: (None if r.get(c) is None else str(r[c])) for c in TARGET_COLUMNS} for r in rows]
    return _load_staged(conn_or_url, _TARGETS, rows, dry_run, progress, within)


def load_targets_csv(
    conn_or_url: psycopg.Connection | str, path: Path, dry_run: bool = False,
    progress: Progress | None = None, within: Iterable[str] = (),
) -> LoadReport:
    """`within`: the subtree roots the writer is limited to (rows elsewhere are rejected)."""
    rows = _read_csv(path, TARGET_COLUMNS, TARGET_COLUMNS[:4])
    return _load_staged(conn_or_url, _TARGETS, rows, dry_run, progress, within)


# --------------------------------------------------------------------------- defaults

RESOLUTION_28_TARGETS = seeds.path("targets_resolution_28.csv")


def load_default_reference(
    conn_or_url: psycopg.Connection | str, dry_run: bool = False, progress: Progress | None = None,
) -> dict[str, LoadReport]:
    """What every installation starts with: today's localities and Resolution 28-NQ/TW's targets."""
    return {
        "localities": load_vietnam_localities(conn_or_url, dry_run=dry_run, progress=progress),
        "targets (Resolution 28-NQ/TW)": load_targets_csv(
            conn_or_url, RESOLUTION_28_TARGETS, dry_run=dry_run, progress=progress
        ),
    }
