"""The stack's use cases (service_layer/stack.py) on fakes: preparing the database and a
stack, waiting for the outbox to drain at a stop (with a fake clock), and collecting the
pipeline's status with parts that do not answer."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from service.service_layer.unavailable import Unreachable
from service.service_layer.stack import (
    BROKER_RESET_REASON, BrokerReset, StatusSources, collect_status, drain_outbox, prepare_database, prepare_stack,
)

RULES = Path("rules.csv")


@dataclass
class FakeDatabase:
    calls: list = field(default_factory=list)

    def migrate(self) -> int:
        self.calls.append("migrate")
        return 2

    def load_contribution_rules(self, path: Path) -> int:
        self.calls.append(("rules", path))
        return 7

    def load_default_reference(self) -> dict:
        self.calls.append("reference")
        return {"localities": "report"}

    def forget_consumer_offsets(self) -> None:
        self.calls.append("forget offsets")

    def note_broker_reset(self, reason: str) -> tuple[int, int]:
        self.calls.append(("reset", reason))
        return 100, 3


def test_prepare_database_migrates_before_it_loads_the_rules():
    database = FakeDatabase()
    assert prepare_database(database, RULES) == (2, 7)
    assert database.calls == ["migrate", ("rules", RULES)]


def test_a_stack_with_its_broker_keeps_its_stored_offsets():
    database, topics = FakeDatabase(), []
    done = prepare_stack(database, lambda: topics.append("ensured"), RULES, fresh_broker=False)
    assert (done.migrations, done.rules, done.reference, done.broker_reset) == (2, 7, {"localities": "report"}, None)
    assert database.calls == ["migrate", ("rules", RULES), "reference"]
    assert topics == ["ensured"]


def test_a_fresh_broker_forgets_the_offsets_then_has_the_outbox_published_again():
    database = FakeDatabase()
    done = prepare_stack(database, lambda: None, RULES, fresh_broker=True)
    assert database.calls[-2:] == ["forget offsets", ("reset", BROKER_RESET_REASON)]
    assert done.broker_reset == BrokerReset(stored=100, pending=3)


@dataclass
class Progress:
    offsets: dict
    last_applied_at: datetime | None = None
    newest_occurred_at: datetime | None = None
    events_applied: int | None = None


class Answers:
    def __init__(self, answer):
        self.answer = answer
        self.asked: list = []

    def _give(self, *asked):
        self.asked.append(asked)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer

    check = _give
    progress = _give
    high_watermarks = _give


def _sources(api=None, database=None, broker=None, restarts=None) -> StatusSources:
    return StatusSources(api=api, database=database, broker=broker, consumer_group="g", events_topic="ev",
                         dead_letter_topic="dl", worker_restarts=restarts or {})


def test_status_computes_lag_from_the_stored_offsets_and_the_watermarks():
    at = datetime(2025, 3, 1, tzinfo=UTC)
    database = Answers(Progress({("ev", 0): 5, ("ev", 1): 9}, at, at, 14))
    broker = Answers({("ev", 0): 8, ("ev", 1): 9, ("ev", 2): 4, ("dl", 0): 2})
    status = collect_status(_sources(Answers((True, True, {"database": True})), database, broker, {0: 1}))
    assert database.asked == [("g",)]
    assert broker.asked == [(["ev", "dl"], {("ev", 0): 5, ("ev", 1): 9})]  # fetched near the stored offsets
    assert status.lag == {0: 3, 1: 0, 2: 4}
    assert (status.dead_letters, status.events_applied, status.last_applied_at) == (2, 14, at)
    assert (status.api_up, status.api_ready, status.database_reachable, status.broker_reachable) == (True,) * 4
    assert status.worker_restarts == {0: 1}
    assert not status.healthy  # two dead letters wait


def test_parts_that_do_not_answer_are_marked_with_their_problem_and_the_rest_still_checked():
    broker = Answers({("ev", 0): 4})
    status = collect_status(_sources(Answers(Unreachable("API x: ConnectionError")),
                                     Answers(Unreachable("database: OperationalError: refused")), broker))
    assert (status.api_up, status.api_ready, status.database_reachable) == (False, False, False)
    assert status.problems == ["API x: ConnectionError", "database: OperationalError: refused"]
    assert broker.asked == [(["ev", "dl"], {})]  # no stored offsets: the whole partition lags
    assert status.lag == {0: 4} and status.broker_reachable


def test_what_is_not_configured_is_not_checked():
    status = collect_status(_sources())
    assert (status.api_up, status.database_reachable, status.broker_reachable, status.dead_letters) == (None,) * 4
    assert status.healthy


class Outbox:
    """Answers the pending counts in turn (an exception is raised); the clock advances by
    each sleep."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.now = 0.0
        self.looks = 0
        self.kept_running = 0

    def pending_in_outbox(self) -> int:
        self.looks += 1
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def keep_running(self) -> None:
        self.kept_running += 1


def _drain(outbox: Outbox, said: list, timeout_s: float = 10.0):
    return drain_outbox(outbox, outbox.keep_running, said.append, timeout_s=timeout_s, clock=lambda: outbox.now,
                        sleep=outbox.sleep)


def test_drain_waits_until_the_workers_have_stored_everything():
    outbox, said = Outbox(5, 5, 2, 0), []
    assert _drain(outbox, said) == 0
    assert said == ["waiting for the workers: 5 accepted events not yet applied …",
                    "waiting for the workers: 2 accepted events not yet applied …", "every accepted event is stored"]
    assert outbox.looks == 4 and outbox.kept_running == 3


def test_an_empty_outbox_is_not_waited_for_nor_mentioned():
    outbox, said = Outbox(0), []
    assert _drain(outbox, said) == 0 and said == [] and outbox.kept_running == 0


def test_drain_gives_up_after_its_timeout_leaving_the_rest_in_the_outbox():
    outbox, said = Outbox(1_200), []
    assert _drain(outbox, said, timeout_s=2.0) == 1_200
    assert said[-1] == "1,200 accepted events not yet applied stay in the outbox: the next start publishes them"
    assert 2.0 < outbox.now <= 3.0  # polled every DRAIN_POLL_S until just past the deadline


def test_an_unreadable_outbox_is_not_waited_for():
    outbox, said = Outbox(Unreachable("OperationalError")), []
    assert _drain(outbox, said) is None
    assert said == ["cannot read the outbox (OperationalError): not waiting for the workers"]
