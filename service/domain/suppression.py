"""Small-cell suppression of one answer (a page of a breakdown), for publication.

Primary: a count of people below the minimum cell size (1 … k-1; 0 is shown) is withheld, and
so is a money cell whose row counts fewer than k payers. Secondary: within the same answer
some cells are sums of others — a derived scheme is the sum of its member schemes (BHXH =
BHXH_BB + BHXH_TN) and a locality the sum of its children — so a withheld cell could be
computed back from one such equation in which it is the only withheld cell. Then one more
cell of that equation is withheld (the smallest non-zero one), and so on until no equation
has exactly one withheld cell. Rows missing from the answer are taken as known to the reader
(the worst case). Withheld cells become None and the row lists them in `suppressed`.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

PLACE = "locality_code"
SCHEME = "scheme"
SUPPRESSED = "suppressed"  # the row's list of withheld columns


@dataclass(frozen=True)
class Cells:
    """What may be withheld in a report's rows."""

    keys: tuple[str, ...]  # with the locality and the scheme, what identifies a row (sex, agent_id, ...)
    counts: tuple[str, ...]  # numbers of people
    money: Mapping[str, tuple[str, ...]]  # money column -> the counts of the people who paid it


def suppress(rows: Sequence[dict[str, Any]], cells: Cells, min_cell_size: int, *,
             parent_of: Mapping[str, str | None], members_of: Mapping[str, Sequence[str]]) -> None:
    """Withhold cells of `rows` in place (module docstring). `parent_of` maps each locality of
    the rows to its parent; `members_of` each derived scheme to its member schemes."""
    measures = cells.counts + tuple(cells.money)
    withheld: set[tuple[int, str]] = set()
    for i, row in enumerate(rows):
        for column in cells.counts:
            if _small(row.get(column), min_cell_size):
                withheld.add((i, column))
        for column, payers in cells.money.items():
            if _small(sum(row.get(c) or 0 for c in payers), min_cell_size):
                withheld.add((i, column))
    equations = _equations(rows, cells.keys, measures, parent_of, members_of)
    changed = True
    while changed:
        changed = False
        for column, members in equations:
            hidden = [i for i in members if (i, column) in withheld]
            if len(hidden) != 1:
                continue
            shown = [i for i in members if (i, column) not in withheld]
            nonzero = [i for i in shown if rows[i].get(column)] or shown
            if nonzero:
                withheld.add((min(nonzero, key=lambda i: rows[i].get(column) or 0), column))
                changed = True
    for i, row in enumerate(rows):
        row[SUPPRESSED] = [c for c in measures if (i, c) in withheld]
        for column in row[SUPPRESSED]:
            row[column] = None


def _small(value: Any, k: int) -> bool:
    return value is not None and 0 < value < k


def _equations(rows: Sequence[dict[str, Any]], keys: tuple[str, ...], measures: tuple[str, ...],
               parent_of: Mapping[str, str | None], members_of: Mapping[str, Sequence[str]],
               ) -> list[tuple[str, list[int]]]:
    """(column, row indexes) of each sum in the answer: a total and its parts present in it."""
    index: dict[tuple, int] = {}
    by_key: dict[tuple, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        rest = tuple(row.get(k) for k in keys)
        index[(rest, row.get(PLACE), row.get(SCHEME))] = i
        by_key[rest].append(i)
    sums: list[list[int]] = []
    for rest, found in by_key.items():
        children: dict[tuple[str | None, Any], list[int]] = defaultdict(list)
        for i in found:
            place: Any = rows[i].get(PLACE)
            scheme: Any = rows[i].get(SCHEME)
            children[(parent_of.get(place), scheme)].append(i)
            parts = [index[(rest, place, m)] for m in members_of.get(scheme, ()) if (rest, place, m) in index]
            if parts:
                sums.append([i, *parts])
        for (parent, scheme), parts in children.items():
            total = index.get((rest, parent, scheme))
            if total is not None:
                sums.append([total, *parts])
    return [(column, members) for members in sums for column in measures]
