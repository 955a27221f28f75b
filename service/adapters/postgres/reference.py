"""Reference data loaders: the locality tree (with its closure), denominators and targets;
what a load did is a `domain.reference_data.LoadReport`.

Every loader is set-based: rows are COPYed into a temporary table, validated there with SQL,
and merged with `INSERT … ON CONFLICT … DO UPDATE … WHERE <changed>`. Rejected rows are
reported with their line and reason, never silently dropped. A dry run does all of it in a
transaction that is rolled back, so its report is exactly what a real load would do.
The SQL lives in `sql/reference/*.sql` (sql_files.py).
"""
from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import seeds
from psycopg import sql

from ...domain.reference_data import LoadReport, Rejected
from ...domain.reporting import BASES, CONFERENCES, LEVELS, MEASURES, NATION_CODE, SUBJECTS
from .locality_scope import in_scope
from .sql_files import composed, statements, text
from .rows import one_row

NATION_NAME = "Việt Nam"

Progress = Callable[[str], None]


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
        conn.execute(text("reference", "drop_staged_localities"))
        conn.execute(text("reference", "stage_localities"))
        say("copying rows")
        with conn.cursor().copy(text("reference", "copy_localities")) as cp:
            for line, r in enumerate(rows, start=1):
                cp.write_row((line, r.code, r.name, r.level, r.parent_code))
        say("validating")
        for statement in statements(
            "reference", "validate_localities",
            levels=sql.SQL(", ").join(map(sql.Literal, LEVELS)),
            level_reason=sql.Literal("level must be one of " + ", ".join(LEVELS)),
            level_ranks=sql.SQL(", ").join(sql.SQL("({}, {})").format(level, rank) for rank, level in enumerate(LEVELS)),
        ):
            conn.execute(statement)
        report.rejected = [
            Rejected(line, code or "", reason)
            for line, code, reason in conn.execute(text("reference", "rejected_localities"))
        ]
        say("merging")
        report.added, report.changed = one_row(conn.execute(text("reference", "merge_localities")))
        (valid,) = one_row(conn.execute(text("reference", "valid_localities")))
        report.unchanged = valid - report.added - report.changed
        say("rebuilding the closure")
        for statement in statements("reference", "rebuild_closure"):
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

DENOMINATOR_COLUMNS = ("locality_code", "year", "measure", "value", "source")
TARGET_COLUMNS = (
    "locality_code", "year", "subject", "basis", "target_count", "target_rate_pct",
    "denominator_measure", "source",
)

_INT = r"^[0-9]{1,15}$"
_YEAR = r"^(19[9][0-9]|20[0-9][0-9]|2100)$"
_PCT = r"^[0-9]{1,3}(\.[0-9]{1,3})?$"


def _one_of(values: tuple[str, ...]) -> sql.Composable:
    """An SQL list of string literals."""
    return sql.SQL(", ").join(map(sql.Literal, values))


@dataclass(frozen=True)
class _Staged:
    """A reference table loaded through a text-typed staging table and SQL validation."""

    table: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    casts: dict[str, str]  # column -> SQL type of the target table
    # The statements that give each bad row its reason (sql/reference/validate_<table>.sql).
    validation: Callable[[], list[sql.Composed]]


# The validation files' placeholders: patterns and the values reference data may name.
_VALIDATION_PIECES = {
    "year_pattern": sql.Literal(_YEAR), "count_pattern": sql.Literal(_INT), "rate_pattern": sql.Literal(_PCT),
    "measures": _one_of(MEASURES), "measure_reason": sql.Literal("measure must be one of " + ", ".join(MEASURES)),
    "subjects": _one_of(SUBJECTS), "subject_reason": sql.Literal("subject must be one of " + ", ".join(SUBJECTS)),
    "bases": _one_of(BASES), "conferences": sql.Literal(CONFERENCES),
    "denominator_measure_reason": sql.Literal("denominator_measure must be one of " + ", ".join(MEASURES)),
}



def _validation(module: str, name: str) -> list[sql.Composed]:
    """The checks every staged denominator or target passes, then those of `module`/`name`."""
    return (statements("reference", "validate_place_and_year", **_VALIDATION_PIECES)
            + statements(module, name, **_VALIDATION_PIECES))


_DENOMINATORS = _Staged(
    table="denominators",
    columns=DENOMINATOR_COLUMNS,
    key=("locality_code", "year", "measure"),
    casts={"year": "integer", "value": "bigint"},
    validation=lambda: _validation("reference", "validate_denominators"),
)

_TARGETS = _Staged(
    table="targets",
    columns=TARGET_COLUMNS,
    key=("locality_code", "year", "subject", "basis"),
    casts={"year": "integer", "target_count": "bigint", "target_rate_pct": "numeric"},
    validation=lambda: _validation("reference", "validate_targets"),
)


def _load_staged(
    conn_or_url: psycopg.Connection | str, spec: _Staged, rows: Iterable[dict[str, str | None]],
    dry_run: bool, progress: Progress | None, within: Iterable[str] = (),
) -> LoadReport:
    say = progress or (lambda _msg: None)
    report = LoadReport(dry_run=dry_run)
    columns = sql.SQL(", ").join(map(sql.Identifier, spec.columns))
    key = sql.SQL(", ").join(map(sql.Identifier, spec.key))
    values = [c for c in spec.columns if c not in spec.key]
    with _connection(conn_or_url) as conn, _unit_of_work(conn, dry_run):
        conn.execute(text("reference", "drop_staged_rows"))
        conn.execute(composed("reference", "stage_rows", text_columns=sql.SQL(", ").join(
            sql.SQL("{} text").format(sql.Identifier(c)) for c in spec.columns)))
        say("copying rows")
        with conn.cursor().copy(composed("reference", "copy_rows", columns=columns)) as cp:
            for line, row in enumerate(rows, start=1):
                cp.write_row((line, *((row.get(c) or None) for c in spec.columns)))
        say("validating")
        for statement in spec.validation():
            conn.execute(statement)
        roots = sorted(set(within))
        if roots:
            conn.execute(composed("reference", "reject_outside", in_scope=in_scope("s.locality_code")),
                         (f"outside this token's localities ({', '.join(roots)})", roots))
        conn.execute(composed(
            "reference", "reject_duplicate_keys", key=key,
            same_key=sql.SQL(" AND ").join(
                sql.SQL("s.{c} = f.{c}").format(c=sql.Identifier(c)) for c in spec.key)))
        report.rejected = [
            Rejected(line, code or "", reason)
            for line, code, reason in conn.execute(text("reference", "rejected_rows"))
        ]
        say("merging")
        report.added, report.changed = one_row(conn.execute(composed(
            "reference", "merge_rows", table=sql.Identifier(spec.table), columns=columns, key=key,
            typed=sql.SQL(", ").join(_typed(spec, c) for c in spec.columns),
            updates=sql.SQL(", ").join(sql.SQL("{c} = excluded.{c}").format(c=sql.Identifier(c)) for c in values),
            changed=sql.SQL(" OR ").join(
                sql.SQL("t.{c} IS DISTINCT FROM excluded.{c}").format(c=sql.Identifier(c)) for c in values),
        )))
        (valid,) = one_row(conn.execute(text("reference", "valid_rows")))
        report.unchanged = valid - report.added - report.changed
    return report


def _typed(spec: _Staged, column: str) -> sql.Composable:
    """A staged (text) column as the target table's type; an absent source is ''."""
    if column in spec.casts:
        return sql.SQL("{}::{}").format(sql.Identifier(column), sql.SQL(spec.casts[column]))
    if column == "source":
        return sql.SQL("coalesce(source, '')")
    return sql.Identifier(column)


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
DEMO_SEEDS = seeds.path("demo")  # the demo data set's denominators.csv and targets.csv


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


class ReferenceFiles:
    """The loaders of the `enrolment reference` commands, on the service's URL."""

    default_targets = RESOLUTION_28_TARGETS

    def __init__(self, url: str):
        self.url = url

    def localities(self, csv_path: Path | None, *, dry_run: bool, progress: Progress | None) -> LoadReport:
        """From a CSV, or today's localities (vietnam-provinces) when `csv_path` is None."""
        if csv_path is None:
            return load_vietnam_localities(self.url, dry_run=dry_run, progress=progress)
        return load_localities_csv(self.url, csv_path, dry_run=dry_run, progress=progress)

    def denominators(self, path: Path, *, dry_run: bool, progress: Progress | None,
                     within: Iterable[str]) -> LoadReport:
        return load_denominators_csv(self.url, path, dry_run=dry_run, progress=progress, within=within)

    def targets(self, path: Path, *, dry_run: bool, progress: Progress | None, within: Iterable[str]) -> LoadReport:
        return load_targets_csv(self.url, path, dry_run=dry_run, progress=progress, within=within)

    def defaults(self, *, dry_run: bool, progress: Progress | None) -> dict[str, LoadReport]:
        return load_default_reference(self.url, dry_run=dry_run, progress=progress)
