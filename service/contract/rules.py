"""Every value rule of the event contract, defined once.

marshmallow (`events.py`) validates with these, the fast paths (`fast_body.py`) test the same
compiled patterns and bounds, and the published JSON Schema (`jsonschema.py`, through apispec)
states them. Patterns are written in the subset where Python and ECMA-262 (the JSON Schema
dialect) agree, anchored with ^…$, and always applied with `fullmatch`: Python's `$` also
matches before a trailing newline, ECMA-262's does not, and `fullmatch` makes them agree.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import overload

from marshmallow import ValidationError, validate


@dataclass(frozen=True)
class Pattern:
    source: str  # published as the JSON Schema "pattern"
    error: str
    compiled: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "compiled", re.compile(self.source))

    def matches(self, text: str) -> bool:
        return self.compiled.fullmatch(text) is not None

    def validator(self) -> "FullMatch":
        return FullMatch(self)


class FullMatch(validate.Regexp):
    """marshmallow's Regexp with `fullmatch`; apispec publishes `regex.pattern` as it is."""

    def __init__(self, pattern: Pattern):
        super().__init__(pattern.compiled, error=pattern.error)
        self.pattern = pattern

    @overload
    def __call__(self, value: str) -> str: ...

    @overload
    def __call__(self, value: bytes) -> bytes: ...

    def __call__(self, value: str | bytes) -> str | bytes:
        # Regexp's signature; fields.String hands validators text, and bytes match no str pattern.
        if isinstance(value, bytes) or not self.pattern.matches(value):
            raise ValidationError(self._format_error(value))
        return value


def _digits(n: int) -> Pattern:
    return Pattern(rf"^[0-9]{{{n}}}$", f"must be exactly {n} digits")


PERSONAL_ID = _digits(12)
SI_NUMBER = _digits(10)
LOCALITY_CODE = Pattern(r"^[0-9]{5}$", "must be a 5-digit commune/ward code")
PROVINCE_CODE = Pattern(r"^[0-9]{2}$", "must be a 2-digit province code")
# Free text: no C0 control characters and no DEL. (Lone surrogates cannot be UTF-8 at all:
# `is_unicode_text` refuses them; JSON Schema validators never see them.)
PLAIN_TEXT = Pattern(r"^[^\x00-\x1f\x7f]*$", "must not contain control characters")
UUID = Pattern(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
               "Not a valid UUID: use the canonical form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx")

# RFC 3339 date-time with a UTC offset (T or t; Z, z or ±hh:mm; at most microseconds; no leap
# second), dated as written from 1995-01-01 to 2099-12-31, every calendar day checked (leap
# years in that range are those divisible by 4). Bounding the written date keeps every
# offset's month arithmetic far from the calendar's ends, and the schema can state it.
FIRST_YEAR, LAST_YEAR = 1995, 2099
_DAY_OF_YEAR = (r"(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
                r"|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
                r"|02-(?:0[1-9]|1[0-9]|2[0-8]))")
_DATE = (rf"(?:(?:199[5-9]|20[0-9]{{2}})-{_DAY_OF_YEAR}"
         r"|(?:1996|20(?:[02468][048]|[13579][26]))-02-29)")
_TIME = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?"
_OFFSET = r"(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
DATE_TIME = Pattern(rf"^{_DATE}[Tt]{_TIME}{_OFFSET}$",
                    f"must be an RFC 3339 date-time with a UTC offset (e.g. 2025-08-12T09:30:00+07:00), "
                    f"dated {FIRST_YEAR}-01-01 to {LAST_YEAR}-12-31")



def parse_date_time(text: str) -> datetime:
    """The aware datetime of a string that DATE_TIME matches (fromisoformat wants T and Z)."""
    return datetime.fromisoformat(text.upper())


@dataclass(frozen=True)
class Bounds:
    low: int
    high: int

    def holds(self, value: object) -> bool:
        """`value` is a JSON integer (never a bool or a float) within the bounds."""
        return type(value) is int and self.low <= value <= self.high

    def validator(self) -> validate.Range:
        return validate.Range(min=self.low, max=self.high)


# Any single amount above a trillion đồng is a typo; the bound also keeps sums in bigint.
MAX_VND = 10**12
AMOUNT_VND = Bounds(1, MAX_VND)
COST_VND = Bounds(0, MAX_VND)
MONTHS = Bounds(1, 120)
ATTENDEES = Bounds(1, 100_000)
BIRTH_YEAR = Bounds(1900, 2100)

# Lengths of free text.
AGENT_ID_LENGTH = (1, 64)
ORGANISER_LENGTH = (1, 200)
CAMPAIGN_LENGTH = (1, 100)
RETRACTION_NOTE_LENGTH = (1, 500)  # why, in words: never a personal id (the topic and the store keep it)
SUPERVISOR_PROVINCES = (1, 100)


def is_unicode_text(text: str) -> bool:
    """No lone UTF-16 surrogates ("\\ud800" escapes in JSON): such text is not encodable as
    UTF-8, so it could be neither published nor stored."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def is_plain_text(value: object, length: tuple[int, int]) -> bool:
    """The fast paths' test of a free-text field: a string of that length, PLAIN_TEXT, Unicode."""
    return type(value) is str and length[0] <= len(value) <= length[1] and PLAIN_TEXT.matches(value) \
        and is_unicode_text(value)
