"""Per-agent token buckets, per worker process (so with N workers an agent can reach up to
N × the limit when its connections spread over all of them)."""
from __future__ import annotations

import threading
import time


class RateLimiter:
    """`per_minute` requests a minute per key, with bursts of up to 10 seconds' worth.
    At most `max_keys` keys are remembered (then all are forgotten: memory stays bounded)."""

    def __init__(self, per_minute: int, clock=time.monotonic, max_keys: int = 100_000):
        self._max_keys = max_keys
        self._rate = per_minute / 60.0
        self._capacity = max(1.0, per_minute / 6.0)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    def acquire(self, key: str) -> float:
        """0 if the request may go ahead, else the seconds until it may."""
        if self._rate <= 0:
            return 0.0
        now = self._clock()
        with self._lock:
            tokens = self._tokens(key, now)
            if len(self._buckets) >= self._max_keys:
                self._buckets.clear()
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self._rate

    def waiting(self, key: str) -> float:
        """Like `acquire`, but takes nothing: the seconds until `key` may go ahead (0 if now)."""
        if self._rate <= 0:
            return 0.0
        with self._lock:
            tokens = self._tokens(key, self._clock())
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self._rate

    def _tokens(self, key: str, now: float) -> float:
        tokens, at = self._buckets.get(key, (self._capacity, now))
        return min(self._capacity, tokens + (now - at) * self._rate)
