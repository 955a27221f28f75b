"""The adapters' SQL files (service/adapters/postgres/sql/): each one used, each placeholder
filled by its caller, several statements split as written."""
from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path

import pytest
from psycopg import sql

from service.adapters.postgres import sql_files

ADAPTERS = Path(sql_files.__file__).parent
SQL_DIR = ADAPTERS / "sql"
SQL_FILES = sorted(SQL_DIR.glob("*/*.sql"))


# The apply's fragments (shared by aggregates.py's and retractions.py's statements) are
# composed in apply_sql.py.
APPLY_SQL = ("aggregates", "retractions")


def test_every_file_is_read_by_the_module_it_is_named_after():
    assert SQL_FILES
    for path in SQL_FILES:
        module, name = path.parent.name, path.stem
        source = (ADAPTERS / f"{module}.py").read_text()
        if module in APPLY_SQL:
            source += (ADAPTERS / "apply_sql.py").read_text()
        assert f'"{module}", "{name}"' in source, f"{path.relative_to(ADAPTERS)} is read by no code in {module}.py"


def test_no_sql_file_lies_outside_a_module_folder():
    assert {p.relative_to(SQL_DIR).parent.as_posix() for p in SQL_DIR.rglob("*.sql")} == {
        p.parent.name for p in SQL_FILES}
    assert all((ADAPTERS / f"{p.parent.name}.py").exists() for p in SQL_FILES)


@pytest.mark.parametrize("path", SQL_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_text_is_the_file_read_through_the_package(path):
    text = sql_files.text(path.parent.name, path.stem)
    assert text == path.read_text(encoding="utf-8").rstrip("\n")
    assert text == files("service.adapters.postgres").joinpath(
        "sql", path.parent.name, path.name).read_text(encoding="utf-8").rstrip("\n")
    assert sql_files.text(path.parent.name, path.stem) is text  # read once, then kept


def test_statements_are_split_at_line_ends_only_and_filled():
    levels = sql.SQL("LEVELS")
    parts = sql_files.statements("reference", "validate_localities", levels=levels,
                                 level_reason=sql.SQL("REASON"), level_ranks=sql.SQL("RANKS"))
    raw = sql_files.text("reference", "validate_localities")
    assert len(parts) == len(re.findall(r";[ \t]*\n", raw)) + 1 == 9
    rendered = [p.as_string(None) for p in parts]
    assert all(not r.rstrip().endswith(";") and r.strip() for r in rendered)
    assert any("level NOT IN (LEVELS)" in r for r in rendered)
    assert any("VALUES RANKS" in r for r in rendered)
    assert not any("{" in r for r in rendered)


def test_a_missing_file_is_an_error_not_an_empty_query():
    with pytest.raises(FileNotFoundError):
        sql_files.text("reports", "no_such_query")
