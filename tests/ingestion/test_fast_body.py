"""The fast body loader against the marshmallow contract: whatever it accepts, EventBodySchema
accepts with an equal result; plainly valid bodies take the fast path."""
import json
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings as hsettings, strategies as st
from marshmallow import ValidationError

from contract_mutations import BODY_PATHS, FULL_CONFERENCE, FULL_ENROLMENT, ODD_VALUES, mutate, single_mutations
from service.contract.events import EventBodySchema
from service.contract.fast_body import fast_body
from service.domain.model import EVENT_KINDS, RETRACTED, EnrolmentKind, RetractionReason, Scheme, Sex, SupportGroup

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
    kind = draw(st.sampled_from([k for k in EVENT_KINDS if k != RETRACTED]))  # retractions: marshmallow's
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


@hsettings(max_examples=1500, deadline=None)
@given(bodies(), st.lists(st.tuples(st.sampled_from(BODY_PATHS), st.one_of(st.just("delete"), ODD_VALUES)),
                          min_size=1, max_size=3))
def test_whatever_the_fast_path_accepts_the_contract_accepts_identically(body, mutations):
    body = mutate(body, mutations)
    fast = fast_body(body)
    if fast is not None:
        assert contract(body) == fast


def test_every_odd_value_at_every_path_of_full_bodies():
    # The random test above rarely puts a boundary value exactly where a rule looks; this sweep
    # does it for every value and path, deterministically.
    for document in (FULL_ENROLMENT, FULL_CONFERENCE):
        assert fast_body(document) == contract(document) is not None
        for mutation in single_mutations(BODY_PATHS):
            body = mutate(document, [mutation])
            fast = fast_body(body)
            if fast is not None:
                assert contract(body) == fast, mutation


@given(st.uuids(), st.uuids(), MOMENTS, st.sampled_from(list(RetractionReason)), st.one_of(st.none(), TEXT))
def test_retractions_are_left_to_the_contract_which_accepts_them(event_id, target, moment, reason, note):
    body = {"event_id": str(event_id), "kind": RETRACTED, "occurred_at": moment.isoformat(), "locality_code": "87001",
            "retraction": {"event_id": str(target), "reason": reason.value, **({"note": note} if note else {})}}
    assert fast_body(body) is None
    loaded = contract(body)
    assert (loaded is None) == (event_id == target)
    if loaded is not None:
        assert loaded["retraction"] == {"event_id": target, "reason": reason, **({"note": note} if note else {})}


@given(st.one_of(st.none(), st.integers(), st.text(), st.lists(st.integers())))
def test_anything_but_an_object_goes_to_the_contract(value):
    assert fast_body(value) is None
