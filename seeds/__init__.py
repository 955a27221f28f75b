"""The data files the service ships with, installed with it as package data: the dated
contribution rules, Resolution 28-NQ/TW's targets and, in `demo/`, the demo data set's
denominators and targets. Read through `path()`, so they are found in any installation."""
from __future__ import annotations

from importlib import resources
from pathlib import Path


def path(relative: str) -> Path:
    """A seed file on disk (pip installs a package as files, so its resources are paths)."""
    found = resources.files(__name__).joinpath(relative)
    if not isinstance(found, Path):
        raise RuntimeError(f"seed {relative} is not a file on disk but {found!r}: install the package unzipped")
    return found
