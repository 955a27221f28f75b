"""The worker's consumer finishes a rebalance that a change of the topic's partitions started:
the rejoin flag is set when the partitions differ from those last assigned, so it survives the
leader's new assignment (adapters/kafka/consumer.py, rejoin_after_metadata_change)."""
from types import SimpleNamespace

from service.adapters.kafka.consumer import rejoin_after_metadata_change


class Coordinator:
    """kafka-python's ConsumerCoordinator as far as the patch reads it: the flag, the snapshots,
    and need_rejoin deciding from the snapshots first, then the flag."""

    def __init__(self):
        self.rejoin_needed = False
        self._assignment_snapshot = {"events": {0, 1, 2}}
        self._metadata_snapshot = {"events": {0, 1, 2}}

    def request_rejoin(self):
        self.rejoin_needed = True

    def need_rejoin(self):
        if self._assignment_snapshot is not None and self._assignment_snapshot != self._metadata_snapshot:
            return True
        return self.rejoin_needed


def test_a_partition_change_keeps_the_rejoin_until_the_join_is_taken_up():
    coordinator = Coordinator()
    rejoin_after_metadata_change(SimpleNamespace(_coordinator=coordinator))
    assert coordinator.need_rejoin() is False  # nothing changed: no rebalance

    coordinator._metadata_snapshot = {"events": {0, 1, 2, 3}}  # the recreated topic has 4 partitions
    assert coordinator.need_rejoin() is True
    # The join completes between two polls: as leader, the worker assigned the 4 partitions.
    coordinator._assignment_snapshot = {"events": {0, 1, 2, 3}}
    assert coordinator.need_rejoin() is True  # unpatched, this was False: the join was dropped
    coordinator.rejoin_needed = False  # what kafka-python does once a poll takes the join up
    assert coordinator.need_rejoin() is False


def test_a_consumer_without_an_assignment_yet_is_left_to_the_flag():
    coordinator = Coordinator()
    coordinator._assignment_snapshot = None
    coordinator._metadata_snapshot = {"events": {0, 1, 2, 3}}
    rejoin_after_metadata_change(SimpleNamespace(_coordinator=coordinator))
    assert coordinator.need_rejoin() is False and coordinator.rejoin_needed is False
