"""The worker's retry policy with a fake clock and sleep: transient errors are retried with a
doubling backoff up to MAX_BACKOFF_S, for ever while not stopping; after a stop it gives up
GIVE_UP_AFTER_STOP_S later; other errors propagate at once."""
import pytest

from service.service_layer.retrying import GIVE_UP_AFTER_STOP_S, MAX_BACKOFF_S, Retry, StopRequested


class Transient(Exception):
    pass


class FakeTime:
    def __init__(self):
        self.now, self.sleeps = 1000.0, []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def failing(times: int, error=Transient):
    calls = []

    def action():
        calls.append(1)
        if len(calls) <= times:
            raise error("down")
        return "done"
    return action, calls


def policy(time: FakeTime) -> Retry:
    return Retry(transient=(Transient,), clock=time.clock, sleep=time.sleep)


def test_transient_errors_are_retried_with_a_doubling_backoff_up_to_the_maximum():
    time, retries = FakeTime(), []
    action, calls = failing(9)
    assert policy(time)(action, "apply", on_retry=retries.append) == "done"
    assert time.sleeps == [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, MAX_BACKOFF_S, MAX_BACKOFF_S, MAX_BACKOFF_S]
    assert len(calls) == 10 and len(retries) == 9 and all(isinstance(e, Transient) for e in retries)


def test_success_at_once_neither_sleeps_nor_counts():
    time, retries = FakeTime(), []
    assert policy(time)(lambda: 7, "apply", on_retry=retries.append) == 7
    assert time.sleeps == [] and retries == []


def test_other_errors_propagate_at_once():
    time = FakeTime()
    action, calls = failing(1, error=KeyError)
    with pytest.raises(KeyError):
        policy(time)(action, "apply")
    assert len(calls) == 1 and time.sleeps == []


def test_after_a_stop_it_gives_up_once_the_grace_has_passed():
    time = FakeTime()
    action, calls = failing(1000)
    with pytest.raises(StopRequested):
        policy(time)(action, "apply", stopping=lambda: True)
    # It keeps trying for GIVE_UP_AFTER_STOP_S after it first saw the stop, not a pause longer.
    assert sum(time.sleeps[:-1]) <= GIVE_UP_AFTER_STOP_S < sum(time.sleeps)
    assert len(calls) == len(time.sleeps) + 1


def test_a_stop_does_not_cut_short_an_action_that_succeeds_meanwhile():
    time = FakeTime()
    action, calls = failing(3)
    assert policy(time)(action, "apply", stopping=lambda: True) == "done"
    assert len(calls) == 4


def test_without_a_stop_it_retries_for_ever():
    time = FakeTime()
    action, calls = failing(200)
    assert policy(time)(action, "apply") == "done"
    assert sum(time.sleeps) > 10 * GIVE_UP_AFTER_STOP_S
