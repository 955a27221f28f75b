"""Who may do what: API tokens (their scopes and format), the principal a valid token speaks
for, and a reader's scope (the locality subtrees it may see). Defined once here; the token
store (adapters/postgres/tokens.py), the locality queries (adapters/postgres/locality_scope.py),
the API's authentication and the use cases derive from it."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from .model import Agent

AGENT = "agent"  # posts events for its provinces
REPORTING = "reporting"  # reads reports within its localities (none: the nation)
SUPERVISOR = "supervisor"  # retracts any event recorded in its provinces (its localities)
REFERENCE = "reference"  # writes reference data (denominators, targets)
SCOPES = (AGENT, REPORTING, SUPERVISOR, REFERENCE)
TOKEN_PREFIX = "enr_"
TOKEN_BYTES = 32
# What the token store issues: the prefix and token_urlsafe(TOKEN_BYTES) (43 characters of base64url).
_TOKEN_FORMAT = re.compile(re.escape(TOKEN_PREFIX) + r"[A-Za-z0-9_-]{43}")


def well_formed(token: str) -> bool:
    """Whether `token` could have been issued: anything else is refused without a query."""
    return _TOKEN_FORMAT.fullmatch(token) is not None


def hash_token(token: str) -> bytes:
    """What the store keeps of a token (it is shown once at issue, never stored)."""
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True)
class Principal:
    """Who a valid, unrevoked token speaks for."""

    token_id: int
    scope: str
    agent: Agent | None  # set for scope "agent"
    provinces: frozenset[str]  # provinces the agent may post for
    # Roots of the locality subtrees the token is limited to (api_token_localities); empty =
    # the whole nation. Reporting: what it may read; supervisor: whose events it may retract.
    localities: frozenset[str] = frozenset()
    min_cell_size: int | None = None  # reporting: breakdown cells below it are withheld (None: off)


@dataclass(frozen=True)
class Scope:
    """What a reader may see: the subtrees under `roots` (none: the whole nation)."""

    roots: frozenset[str] = frozenset()

    @property
    def nation(self) -> bool:
        return not self.roots


NATION = Scope()


class OutOfScope(LookupError):
    """A parameter names a locality outside the reader's subtrees (or none that exists)."""

    def __init__(self, parameter: str, code: str, scope: Scope):
        self.parameter, self.code = parameter, code
        super().__init__(f"locality {code!r} is outside this token's localities ({', '.join(sorted(scope.roots))})")


@dataclass(frozen=True)
class TokenRow:
    token_id: int
    scope: str
    agent_id: str | None
    label: str
    created_at: datetime
    revoked_at: datetime | None
    localities: tuple[str, ...] = ()  # subtree roots it is limited to; empty = the nation
    min_cell_size: int | None = None


DEFAULT_CONNECTION_LIMIT = 5  # per analyst login: their sessions cannot use up max_connections


class LoginError(ValueError):
    """A name that cannot be an analyst login, or a role that is not one."""
