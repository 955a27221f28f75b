"""The dead-letter writer with a stand-in producer (no broker): a worker's two threads use it
(poison while decoding, the apply's refusals on the writer thread), so a send waits while a
flush runs, and a flush waits for every letter sent before it; a letter that failed is sent
again and the error raised."""
import threading
from types import SimpleNamespace

import pytest
from kafka.errors import KafkaTimeoutError

from service.adapters.kafka.consumer import DeadLetterWriter
from service.config import Settings


class Future:
    def __init__(self, error=None):
        self.error = error

    def get(self, timeout):
        if self.error is not None:
            raise self.error


class Producer:
    def __init__(self):
        self.sent, self.failing = [], 0
        self.flushing, self.release = threading.Event(), threading.Event()
        self.release.set()

    def send(self, topic, key, value, headers):
        self.sent.append(value)
        if self.failing:
            self.failing -= 1
            return Future(KafkaTimeoutError("no acknowledgement"))
        return Future()

    def flush(self, timeout):
        self.flushing.set()
        assert self.release.wait(5)


def record(offset: int):
    return SimpleNamespace(topic="events", partition=0, offset=offset, key=None, value=f"r{offset}".encode())


def test_a_send_waits_while_another_thread_flushes():
    producer = Producer()
    writer = DeadLetterWriter(Settings(), producer)
    writer.send(record(0), "bad")
    producer.release.clear()
    flushing = threading.Thread(target=writer.flush)
    flushing.start()
    assert producer.flushing.wait(5)
    sent = threading.Event()
    sending = threading.Thread(target=lambda: (writer.send(record(1), "bad"), sent.set()))
    sending.start()
    assert not sent.wait(0.3)  # held by the flush in progress
    producer.release.set()
    assert sent.wait(5)
    flushing.join(5)
    sending.join(5)
    assert producer.sent == [b"r0", b"r1"]


def test_a_failed_letter_is_sent_again_and_the_error_raised_until_a_flush_completes():
    producer = Producer()
    producer.failing = 1
    writer = DeadLetterWriter(Settings(), producer)
    writer.send(record(0), "bad")
    with pytest.raises(KafkaTimeoutError):
        writer.flush()
    writer.flush()  # the letter sent again is acknowledged now
    assert producer.sent == [b"r0", b"r0"]
