"""The rebuild use case on fakes: what it applies, when it reads the catch-up, when it refuses."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.service_layer.rebuild import StoredRows
from service.domain.model import CONFERENCE, ENROLMENT, RETRACTION
from service.service_layer.applying import BatchResult, Poison
from service.service_layer.rebuild import RebuildRefused, rebuild

STORES = (ENROLMENT, CONFERENCE, RETRACTION)


class FakeTarget:
    """Rows are (event_id, ...); the live store holds `live` events."""

    def __init__(self, live: int):
        self.live = live
        self.stored: dict[str, set] = {s: set() for s in STORES}
        self.calls: list[str] = []
        self.swapped = False

    def apply(self, enrolments, conferences, retractions):
        self.calls.append("apply")
        new = {}
        for store, rows in zip(STORES, (enrolments, conferences, retractions), strict=True):
            ids = [r[0] for r in rows]
            new[store] = len(set(ids) - self.stored[store])
            self.stored[store].update(ids)
        total = len(enrolments) + len(conferences) + len(retractions)
        return BatchResult(applied=new[ENROLMENT], conferences=new[CONFERENCE], retractions=new[RETRACTION],
                           duplicates=total - sum(new.values()), newest_occurred_at=None)

    def lock_and_read_live_offsets(self):
        self.calls.append("lock")
        return {("events", 0): self.live}

    def event_counts(self):
        return self.live, sum(len(ids) for ids in self.stored.values())

    def swap_in(self):
        self.calls.append("swap")
        self.swapped = True


class FakeSource:
    def __init__(self, batches, catch_up=(), fail_catch_up=False):
        self._batches, self._catch_up, self.fail = batches, catch_up, fail_catch_up
        self.asked_offsets = None

    def batches(self):
        yield from self._batches

    def catch_up(self, live):
        self.asked_offsets = live
        if self.fail:
            raise RuntimeError("could not catch up")
        return self._catch_up


def decode(value: bytes):
    """b"E:1" -> an enrolment with id 1; anything else is poison (as RecordDecoder raises it)."""
    try:
        kind, _, rest = value.decode().partition(":")
        store = {"E": ENROLMENT, "C": CONFERENCE, "R": RETRACTION}[kind]
        return store, (int(rest),)
    except (UnicodeDecodeError, KeyError, ValueError) as exc:
        raise Poison(f"{type(exc).__name__}: {exc}") from exc


def test_a_rebuild_with_fewer_events_than_the_live_store_is_refused_and_not_swapped():
    target = FakeTarget(live=3)
    with pytest.raises(RebuildRefused) as refused:
        rebuild(target, FakeSource([[b"E:1", b"E:2"]]), decode)
    assert (refused.value.live, refused.value.rebuilt) == (3, 2)
    assert "lose 1" in str(refused.value)
    assert not target.swapped


def test_the_catch_up_is_read_under_the_lock_and_applied_before_the_swap():
    target = FakeTarget(live=3)
    source = FakeSource([StoredRows(enrolments=[(1,), (2,)])], catch_up=[StoredRows(conferences=[(3,)])])
    tally = rebuild(target, source, decode)
    assert target.calls == ["apply", "lock", "apply", "swap"]
    assert source.asked_offsets == {("events", 0): 3}
    assert (tally.applied, tally.duplicates, tally.poison, tally.read) == (3, 0, 0, 3)


def test_a_failed_catch_up_swaps_nothing():
    target = FakeTarget(live=1)
    with pytest.raises(RuntimeError):
        rebuild(target, FakeSource([[b"E:1"]], fail_catch_up=True), decode)
    assert not target.swapped


def test_a_rebuild_holding_more_than_the_live_store_is_swapped_in():
    # Events the live consumer has not applied yet (it will find them stored already).
    target = FakeTarget(live=1)
    rebuild(target, FakeSource([[b"E:1", b"C:2"]]), decode)
    assert target.swapped


def test_an_error_other_than_poison_stops_the_rebuild_before_the_swap():
    def broken(value: bytes):
        raise RuntimeError("a bug in the decode step, not the record's fault")

    target = FakeTarget(live=0)
    with pytest.raises(RuntimeError):
        rebuild(target, FakeSource([[b"E:1"]]), broken)
    assert not target.swapped


values = st.one_of(
    st.tuples(st.sampled_from("ECR"), st.integers(0, 20)).map(lambda t: f"{t[0]}:{t[1]}".encode()),
    st.binary(max_size=6),  # mostly poison
)


@given(st.lists(st.lists(values, max_size=8), max_size=6))
def test_every_record_is_counted_once_as_applied_duplicate_or_poison(batches):
    valid = [v for batch in batches for v in batch if _valid(v)]
    target = FakeTarget(live=0)
    progress = []
    tally = rebuild(target, FakeSource(batches), decode, on_batch=lambda t: progress.append(t.read))
    assert tally.applied + tally.duplicates + tally.poison == tally.read == sum(map(len, batches))
    assert tally.applied == len({decode(v) for v in valid})  # distinct (store, id)
    assert progress == sorted(progress) and len(progress) == len(batches)
    assert target.swapped


def _valid(value: bytes) -> bool:
    try:
        decode(value)
    except Poison:
        return False
    return True
