"""Who is the same participant: the union of identifiers linked by events.

An event naming both a personal id and an SI number links them; links are transitive and
retroactive. `resolve` takes the links of new events and the participant numbers already
known for those identifiers, and says which identifiers get which participant, which known
participants merge into which, and which groups need a new number. Identifiers are opaque
(pseudonyms in the service, raw strings in tests).
"""
from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

Identifier = TypeVar("Identifier", bound=Hashable)


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict = {}

    def find(self, x):
        self.parent.setdefault(x, x)
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:  # path compression
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a, b) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[rb] = ra

    def groups(self) -> list[list]:
        out: dict = {}
        for x in list(self.parent):
            out.setdefault(self.find(x), []).append(x)
        return list(out.values())


@dataclass
class Resolution(Generic[Identifier]):
    # identifier -> known participant number it must map to (new or changed mappings only)
    assign: dict[Identifier, int] = field(default_factory=dict)
    # groups of identifiers that belong to no known participant: each needs a new number
    new_groups: list[list[Identifier]] = field(default_factory=list)
    # known participant number -> the number it merges into (the smallest of the group)
    merges: dict[int, int] = field(default_factory=dict)
    # known participants whose timelines change (merged-away ones included)
    touched: set[int] = field(default_factory=set)


def resolve(
    links: Iterable[tuple[Identifier, Identifier | None]],
    known: Mapping[Identifier, int],
) -> Resolution[Identifier]:
    """`links`: (identifier, linked identifier or None) per new event; `known`: the current
    participant number of every identifier in `links` that has one."""
    uf = _UnionFind()
    for ident, linked in links:
        uf.find(("i", ident))
        if linked is not None:
            uf.union(("i", ident), ("i", linked))
    for ident, participant in known.items():
        uf.union(("i", ident), ("p", participant))
    result: Resolution[Identifier] = Resolution()
    for group in uf.groups():
        participants = sorted(p for tag, p in group if tag == "p")
        identifiers = [i for tag, i in group if tag == "i"]
        if not participants:
            result.new_groups.append(identifiers)
            continue
        winner = participants[0]
        for loser in participants[1:]:
            result.merges[loser] = winner
        for ident in identifiers:
            if known.get(ident) != winner:
                result.assign[ident] = winner
        result.touched.update(participants)
    return result


def group_participants(links: Iterable[tuple[Identifier, Identifier | None]]) -> dict[Identifier, int]:
    """Every identifier of `links` -> a participant number, all links applied at once."""
    res = resolve(list(links), {})
    return {ident: n for n, group in enumerate(res.new_groups) for ident in group}
