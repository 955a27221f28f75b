"""Re-publishing dead letters (service_layer/dead_letters.py) on fakes."""
from __future__ import annotations

from dataclasses import dataclass

from service.service_layer.dead_letters import redrive_export, redrive_letters


@dataclass
class Letter:
    key: bytes | None
    value: bytes | None
    dead_letter_offset: int | None


LETTERS = [Letter(b"k0", b"v0", 0), Letter(None, b"v1", 1), Letter(b"k2", None, 2)]


def test_every_letter_is_published_unchanged_when_no_offset_is_named():
    sent: list = []
    assert redrive_letters(LETTERS, (), sent.extend) == 3
    assert sent == [(b"k0", b"v0"), (None, b"v1"), (b"k2", None)]


def test_only_the_named_offsets_are_published():
    sent: list = []
    assert redrive_letters(LETTERS, (2, 0), sent.extend) == 2
    assert sent == [(b"k0", b"v0"), (b"k2", None)]


def test_a_fixed_export_is_published_under_the_key_of_each_value():
    lines = [{"dead_letter_offset": 4, "value": '{"fixed": 1}'}, {"dead_letter_offset": 5, "value": "still broken"},
             {"dead_letter_offset": 6, "value": "left out"}]
    sent: list = []
    key_of = {b'{"fixed": 1}': b"participant"}.get
    assert redrive_export(lines, (4, 5), key_of, sent.extend) == 2
    assert sent == [(b"participant", b'{"fixed": 1}'), (None, b"still broken")]


def test_nothing_chosen_publishes_nothing():
    batches: list = []
    assert redrive_letters(LETTERS, (99,), batches.append) == 0
    assert batches == [[]]
