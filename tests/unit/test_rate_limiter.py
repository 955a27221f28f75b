"""The token buckets: `waiting` peeks without taking, and memory stays bounded."""
from service.entrypoints.api.ratelimit import RateLimiter


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_waiting_takes_nothing_and_acquire_drains_the_burst():
    clock = Clock()
    limiter = RateLimiter(60, clock=clock)  # 1 a second, bursts of 10
    assert [limiter.waiting("a") for _ in range(50)] == [0.0] * 50
    assert [limiter.acquire("a") for _ in range(10)] == [0.0] * 10
    assert limiter.waiting("a") == limiter.acquire("a") == 1.0
    assert limiter.waiting("b") == 0.0
    clock.now += 1.0
    assert limiter.waiting("a") == 0.0


def test_at_most_max_keys_are_remembered():
    limiter = RateLimiter(60, clock=Clock(), max_keys=100)
    for i in range(1_000):
        limiter.acquire(f"address-{i}")
    assert len(limiter._buckets) <= 100
