"""The API's token cache: one lookup per token however many requests miss at once."""
import threading
import time

from service.entrypoints.api.auth import Authenticator


class CountingLookup:
    def __init__(self, delay_s: float = 0.0):
        self.calls = 0
        self.delay_s = delay_s
        self._lock = threading.Lock()

    def __call__(self, token_hash: bytes):
        with self._lock:
            self.calls += 1
        time.sleep(self.delay_s)
        return None if token_hash.startswith(b"\x00") else f"principal-{token_hash.hex()[:8]}"


def test_concurrent_misses_share_one_lookup():
    lookup = CountingLookup(delay_s=0.05)
    auth = Authenticator(lookup, ttl_s=10)
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(auth.principal("token-a"))) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert lookup.calls == 1
    assert len(set(answers)) == 1 and answers[0].startswith("principal-")


def test_distinct_tokens_and_expiry_look_up_again():
    lookup = CountingLookup()
    auth = Authenticator(lookup, ttl_s=0.05)
    auth.principal("token-a")
    auth.principal("token-b")
    auth.principal("token-a")
    assert lookup.calls == 2
    time.sleep(0.06)
    auth.principal("token-a")
    assert lookup.calls == 3


def test_ttl_zero_looks_up_every_time():
    lookup = CountingLookup()
    auth = Authenticator(lookup, ttl_s=0)
    for _ in range(3):
        auth.principal("token-a")
    assert lookup.calls == 3


def test_a_failed_lookup_is_not_cached():
    calls = []

    def failing(token_hash):
        calls.append(token_hash)
        if len(calls) == 1:
            raise ConnectionError("database down")
        return "principal"

    auth = Authenticator(failing, ttl_s=10)
    try:
        auth.principal("token-a")
    except ConnectionError:
        pass
    else:
        raise AssertionError("the lookup's error must reach the caller")
    assert auth.principal("token-a") == "principal"
    assert len(calls) == 2
