"""Use cases of `enrolment tokens` (and the simulator's and runner's tokens): issue a token
once the agent, provinces or localities it names are known to the reference data.

A token is printed once, at issue; the store keeps only its SHA-256. The scopes are
domain/access.py's.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from ..domain.access import AGENT, SUPERVISOR, TokenRow
from ..domain.model import Channel



class TokenStore(Protocol):
    def unknown_provinces(self, codes: list[str]) -> list[str]: ...
    def unknown_localities(self, codes: list[str]) -> list[str]: ...
    def upsert_agent(self, agent_id: str, name: str, channel: Channel, provinces: list[str]) -> None: ...
    def issue(self, scope: str, agent_id: str | None, label: str = "", localities: Iterable[str] = (),
              min_cell_size: int | None = None) -> tuple[int, str]: ...
    def revoke(self, *, token_id: int | None = None, token: str | None = None, agent_id: str | None = None) -> int: ...
    def list_tokens(self) -> list[TokenRow]: ...


class UnknownCodes(ValueError):
    """Codes that are not provinces (`kind` "provinces") or localities in the reference data."""

    def __init__(self, kind: str, codes: Sequence[str]):
        super().__init__(f"not {kind} in the reference data: {', '.join(codes)}")
        self.kind, self.codes = kind, list(codes)


def _known_provinces(store: TokenStore, provinces: Sequence[str]) -> None:
    unknown = store.unknown_provinces(list(provinces))
    if unknown:
        raise UnknownCodes("provinces", unknown)


def issue_agent_token(store: TokenStore, agent_id: str, name: str, channel: Channel, provinces: Sequence[str],
                      label: str) -> tuple[int, str]:
    """Create or update the agent (its provinces replaced) and issue it a token: (id, token)."""
    _known_provinces(store, provinces)
    store.upsert_agent(agent_id, name, channel, list(provinces))
    return store.issue(AGENT, agent_id, label)


def issue_locality_token(store: TokenStore, scope: str, label: str, localities: Sequence[str],
                         min_cell_size: int | None = None) -> tuple[int, str]:
    """A token of `scope` (reporting, reference) limited to `localities` (none: the nation)."""
    unknown = store.unknown_localities(list(localities))
    if unknown:
        raise UnknownCodes("localities", unknown)
    return store.issue(scope, None, label, localities=localities, min_cell_size=min_cell_size)


def issue_supervisor_token(store: TokenStore, label: str, provinces: Sequence[str]) -> tuple[int, str]:
    """A token that may retract any event recorded in `provinces`."""
    _known_provinces(store, provinces)
    return store.issue(SUPERVISOR, None, label, localities=provinces)
