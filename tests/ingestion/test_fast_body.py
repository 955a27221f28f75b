"""The fast body loader against the marshmallow contract: whatever it accepts, EventBodySchema
accepts with an equal result; plainly valid bodies take the fast path."""
import copy
import json
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings as hsettings, strategies as st
from marshmallow import ValidationError

from service.contract.events import EventBodySchema
from service.contract.fast_body import fast_body
from service.domain.model import EVENT_KINDS, EnrolmentKind, Scheme, Sex, SupportGroup

SCHEMA = EventBodySchema()


def contract(body):
    try:
        return SCHEMA.load(body)
    except ValidationError:
        return None


OFFSETS = st.sampled_from([UTC, timezone(timedelta(hours=7)), timezone(timedelta(hours=-3, minutes=-30))])
MOMENTS = st.builds(lambda d, tz, micro: d.replace(tzinfo=tz, microsecond=micro),
                    st.datetimes(min_value=datetime(1995, 1, 2), max_value=datetime(2030, 12, 31)),
                    OFFSETS, st.sampled_from([0, 123000, 999999]))
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1, max_size=20)


@st.composite
def personal_ids(draw):
    century_sex = draw(st.integers(0, 3))
    return f"{draw(st.integers(1, 96)):03d}{century_sex}{draw(st.integers(0, 99)):02d}{draw(st.integers(0, 999_999)):06d}"


@st.composite
def participants(draw):
    p = {}
    shape = draw(st.sampled_from(["pid", "sin", "both"]))
    if shape in ("pid", "both"):
        pid = draw(personal_ids())
        p["personal_id"] = pid
        digit = int(pid[3])
        if draw(st.booleans()):
            p["sex"] = "female" if digit % 2 else "male"
        if draw(st.booleans()):
            p["birth_year"] = 1900 + 100 * (digit // 2) + int(pid[4:6])
    if shape in ("sin", "both"):
        p["si_number"] = f"{draw(st.integers(0, 9_999_999_999)):010d}"
    if shape == "sin":
        if draw(st.booleans()):
            p["sex"] = draw(st.sampled_from([s.value for s in Sex]))
        if draw(st.booleans()):
            p["birth_year"] = draw(st.integers(1900, 2100))
    return p


@st.composite
def bodies(draw):
    kind = draw(st.sampled_from(EVENT_KINDS))
    body = {"event_id": str(draw(st.uuids())), "kind": kind, "occurred_at": draw(MOMENTS).isoformat(),
            "locality_code": f"{draw(st.integers(0, 99_999)):05d}"}
    if draw(st.booleans()):
        body["campaign"] = draw(TEXT)
    if kind == "conference_held":
        body["conference"] = {"attendees": draw(st.integers(1, 100_000)), "cost_vnd": draw(st.integers(0, 10**12)),
                              "organiser": draw(TEXT)}
        return body
    body["scheme"] = draw(st.sampled_from([s.value for s in Scheme]))
    body["participant"] = draw(participants())
    if EnrolmentKind(kind).activates and draw(st.booleans()):
        c = {"months": draw(st.integers(1, 120)), "amount_vnd": draw(st.integers(1, 10**12))}
        if draw(st.booleans()):
            c["chosen_income_vnd"] = draw(st.integers(1, 10**12))
        if draw(st.booleans()):
            c["support_group"] = draw(st.sampled_from([g.value for g in SupportGroup]))
        body["contribution"] = c
    return body


@hsettings(max_examples=300, deadline=None)
@given(bodies())
def test_valid_bodies_take_the_fast_path_with_the_same_result(body):
    body = json.loads(json.dumps(body))  # exactly what the API parses
    expected = contract(body)
    assert expected is not None
    assert fast_body(body) == expected


ODD_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 200_000), st.sampled_from([10**12, 10**12 + 1, 2**63]), st.floats(allow_nan=False), st.text(max_size=14),
    st.sampled_from(["", "12345", "12345\n", "1234", "087080000000", "0870800000001", "0000000001", "male", "female",
                     "BHXH_BB", "BHXH_TN", "registered", "conference_held", "lapsed", "renewed", "other", "poor",
                     "2020-01-01", "2020-01-01T00:00:00", "a\tb", "x\n", "\x7f", "2020-01-01T00:00:00Z", "1990-01-01T00:00:00+07:00",
                     "1994-12-31T23:59:59-01:00", "20200101T000000+0700", "3", "1.0", "1988", " 12345",
                     "5b2a0ee0-1d6d-4d3a-9f0a-3f2b8ad3f5c1", "{5b2a0ee0-1d6d-4d3a-9f0a-3f2b8ad3f5c1}",
                     "5b2a0ee01d6d4d3a9f0a3f2b8ad3f5c1", "urn:uuid:5b2a0ee0-1d6d-4d3a-9f0a-3f2b8ad3f5c1"]),
    st.sampled_from([{"attendees": 10, "cost_vnd": 0, "organiser": "x"}, {"personal_id": "087080000000"},
                     {"si_number": "0000000001", "sex": "female"}, {"months": 3, "amount_vnd": 10}, {},
                     [], ["registered"]]),
    st.dictionaries(st.sampled_from(["months", "amount_vnd", "attendees", "cost_vnd", "organiser", "x",
                                     "personal_id", "si_number", "sex", "birth_year"]),
                    st.one_of(st.integers(0, 5), st.none(), st.just("0000000001")), max_size=3),
)
PATHS = [("event_id",), ("kind",), ("occurred_at",), ("locality_code",), ("campaign",), ("scheme",), ("agent",),
         ("participant",), ("participant", "personal_id"), ("participant", "si_number"), ("participant", "sex"),
         ("participant", "birth_year"), ("participant", "extra"), ("contribution",), ("contribution", "months"),
         ("contribution", "amount_vnd"), ("contribution", "chosen_income_vnd"), ("contribution", "support_group"),
         ("contribution", "extra"), ("conference",), ("conference", "attendees"), ("conference", "cost_vnd"),
         ("conference", "organiser"), ("extra",)]


@hsettings(max_examples=1500, deadline=None)
@given(bodies(), st.lists(st.tuples(st.sampled_from(PATHS), st.one_of(st.just("delete"), ODD_VALUES)),
                          min_size=1, max_size=3))
def test_whatever_the_fast_path_accepts_the_contract_accepts_identically(body, mutations):
    body = copy.deepcopy(body)
    for path, new in mutations:
        target = body
        for key in path[:-1]:
            target = target.get(key) if isinstance(target, dict) else None
        if not isinstance(target, dict):
            continue
        if new == "delete":
            target.pop(path[-1], None)
        else:
            target[path[-1]] = copy.deepcopy(new)
    fast = fast_body(body)
    if fast is not None:
        assert contract(body) == fast


@given(st.one_of(st.none(), st.integers(), st.text(), st.lists(st.integers())))
def test_anything_but_an_object_goes_to_the_contract(value):
    assert fast_body(value) is None
