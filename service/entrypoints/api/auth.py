"""Bearer-token authentication for every blueprint.

`@agent_required` (agent tokens; puts `g.agent` and `g.agent_provinces` on flask.g and applies
the per-agent rate limit), `@reporting_required` (reporting tokens: read reports) and
`@reference_required` (reference tokens: write denominators and targets); both put the token's
`Principal` on `g.principal` (its localities limit what it reads or writes). 401 for a missing,
unknown or revoked token; 403 for a token of the wrong scope (`check_province` gives 403 for a
province the agent is not assigned to).

Caching: a worker remembers each lookup (found or not) for `settings.auth_cache_ttl_s`
(default 10 s), so a hot agent costs one hash and one dict lookup per request instead of a
database round trip; the price is that a revoked token keeps working for at most that long in
each worker. Set AUTH_CACHE_TTL_S=0 for immediate revocation (one query per request).

Unauthenticated traffic costs bounded database work: a token not of the issued format is
refused without a query; unknown tokens are remembered apart (at most MAX_REFUSED); and each
client address may cause FAILED_LOOKUPS_PER_MINUTE lookups of unknown tokens a minute per worker,
then answers 429 with Retry-After until its budget refills.
"""
from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable

from flask import g, request

from ...domain import access
from ...domain.access import Principal
from .problems import Problem, violation
from .resources import current_resources

BEARER = "bearer "
# Lookups of unknown (well-formed) tokens a client address may cause a minute, per worker.
FAILED_LOOKUPS_PER_MINUTE = 120
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="enrolment"'}


class Authenticator:
    """Token -> Principal, with a short per-process TTL cache (see module docstring).

    One lookup per token at a time: when an entry expires under load, the hundreds of
    requests a worker holds open for that agent wait for one query instead of each
    sending its own."""

    MAX_ENTRIES = 50_000
    MAX_REFUSED = 10_000  # unknown tokens remembered (apart: a flood of them evicts no valid one)

    def __init__(self, lookup: Callable[[bytes], Principal | None], ttl_s: float):
        """`lookup`: a token's hash -> its principal (the token store, `bootstrap.build_api_resources`)."""
        self._lookup = lookup
        self._ttl = ttl_s
        self._cache: dict[bytes, tuple[float, Principal | None]] = {}
        self._refused: dict[bytes, tuple[float, Principal | None]] = {}  # the value always None
        self._lock = threading.Lock()
        self._lookups_in_flight: dict[bytes, threading.Lock] = {}

    def _fresh(self, key: bytes) -> tuple[float, Principal | None] | None:
        hit = self._cache.get(key) or self._refused.get(key)
        return hit if hit is not None and hit[0] > time.monotonic() else None

    def principal(self, token: str) -> Principal | None:
        key = access.hash_token(token)
        hit = self._fresh(key)
        if hit is not None:
            return hit[1]
        if self._ttl <= 0:
            return self._lookup(key)
        with self._lock:
            key_lock = self._lookups_in_flight.setdefault(key, threading.Lock())
        with key_lock:
            hit = self._fresh(key)  # another request looked it up while this one waited
            if hit is not None:
                return hit[1]
            try:
                found = self._lookup(key)
                with self._lock:
                    cache, limit = (self._cache, self.MAX_ENTRIES) if found else (self._refused, self.MAX_REFUSED)
                    if len(cache) >= limit:
                        cache.clear()
                    cache[key] = (time.monotonic() + self._ttl, found)
            finally:
                with self._lock:
                    self._lookups_in_flight.pop(key, None)
        return found


def _unauthorized(detail: str, rule: str) -> Problem:
    return Problem(401, "Unauthorized", detail, headers=_CHALLENGE, type_="unauthorized",
                   errors=[violation("Authorization", rule, detail)])


def _authenticate(scope: str | tuple[str, ...]) -> Principal:
    scopes = (scope,) if isinstance(scope, str) else scope
    header = request.headers.get("Authorization", "")
    token = header[len(BEARER):].strip()
    if header[: len(BEARER)].lower() != BEARER or not token:
        raise _unauthorized("send 'Authorization: Bearer <token>'", "bearer_token")
    if not access.well_formed(token):  # refused without a database query
        raise _unauthorized("not a token of this service", "token_format")
    client = request.remote_addr or ""
    res = current_resources()
    wait_s = res.failed_lookups.waiting(client)
    if wait_s > 0:
        raise _too_many("too many unknown tokens from this address", wait_s)
    found = res.authenticator.principal(token)
    if found is None:
        res.failed_lookups.acquire(client)
        raise _unauthorized("unknown or revoked token", "token_known")
    if found.scope not in scopes:
        detail = f"this endpoint needs a token of scope {' or '.join(repr(s) for s in scopes)}, not '{found.scope}'"
        raise Problem(403, "Forbidden", detail, type_="wrong-scope", errors=[violation("Authorization", "token_scope", detail)])
    g.principal = found
    return found


def _too_many(detail: str, wait_s: float) -> Problem:
    return Problem(429, "Too Many Requests", detail, headers={"Retry-After": str(max(1, round(wait_s + 0.5)))},
                   type_="rate-limited", errors=[violation("", "rate_limit", detail)])


def agent_required(view):
    """Agent token, then the per-agent rate limit (429 with Retry-After)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        found = _authenticate(access.AGENT)
        g.agent = found.agent
        g.agent_provinces = found.provinces
        wait_s = current_resources().rate_limiter.acquire(found.agent.agent_id)
        if wait_s > 0:
            raise _too_many("rate limit for this agent exceeded", wait_s)
        return view(*args, **kwargs)

    return wrapper


def retractor_required(view):
    """An agent token (its own events; the per-agent rate limit applies) or a supervisor token
    (events in its provinces): `g.principal` says which."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        found = _authenticate((access.AGENT, access.SUPERVISOR))
        if found.agent is not None:
            wait_s = current_resources().rate_limiter.acquire(found.agent.agent_id)
            if wait_s > 0:
                raise _too_many("rate limit for this agent exceeded", wait_s)
        return view(*args, **kwargs)

    return wrapper


def _scope_required(scope: str):
    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            _authenticate(scope)
            return view(*args, **kwargs)

        return wrapper

    return decorator


reporting_required = _scope_required(access.REPORTING)
reference_required = _scope_required(access.REFERENCE)
