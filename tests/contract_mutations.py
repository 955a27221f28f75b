"""Mutations for the differential tests of the contract's fast paths (API body and topic
record): odd values put at field paths of a valid document."""
import copy

from hypothesis import strategies as st

# Values that sit on or beside a rule's boundary, or have the wrong JSON type.
ODD_CONSTANTS = [
    None, True, False, -5, 0, 1, 12, 120, 121, 1899, 1900, 2100, 2101, 100_000, 100_001,
    10**12, 10**12 + 1, 2**63, 1.0, 3.5,
    "", "12345", "12345\n", "1234", "087080000000", "0870800000001", "0000000001", "male", "female",
    "BHXH_BB", "BHXH_TN", "registered", "conference_held", "lapsed", "renewed", "other", "poor",
    "2020-01-01", "2020-01-01T00:00:00", "a\tb", "x\n", "\x7f", "a\x00b", "x" * 101, "x" * 201,
    "2020-01-01T00:00:00Z", "1990-01-01T00:00:00+07:00",
    "1994-12-31T23:59:59-01:00", "20200101T000000+0700", "3", "1.0", "1988", " 12345",
    "5b2a0ee0-1d6d-4d3a-9f0a-3f2b8ad3f5c1", "{5b2a0ee0-1d6d-4d3a-9f0a-3f2b8ad3f5c1}",
    "5b2a0ee01d6d4d3a9f0a3f2b8ad3f5c1", "urn:uuid:5b2a0ee0-1d6d-4d3a-9f0a-3f2b8ad3f5c1",
    {"attendees": 10, "cost_vnd": 0, "organiser": "x"}, {"personal_id": "087080000000"},
    {"si_number": "0000000001", "sex": "female"}, {"months": 3, "amount_vnd": 10}, {}, [], ["registered"],
]
ODD_VALUES = st.one_of(
    st.sampled_from(ODD_CONSTANTS), st.integers(-5, 200_000), st.floats(allow_nan=False), st.text(max_size=14),
    st.dictionaries(st.sampled_from(["months", "amount_vnd", "attendees", "cost_vnd", "organiser", "x",
                                     "personal_id", "si_number", "sex", "birth_year"]),
                    st.one_of(st.integers(0, 5), st.none(), st.just("0000000001")), max_size=3),
)
BODY_PATHS = [("event_id",), ("kind",), ("occurred_at",), ("locality_code",), ("campaign",), ("scheme",), ("agent",),
         ("participant",), ("participant", "personal_id"), ("participant", "si_number"), ("participant", "sex"),
         ("participant", "birth_year"), ("participant", "extra"), ("contribution",), ("contribution", "months"),
         ("contribution", "amount_vnd"), ("contribution", "chosen_income_vnd"), ("contribution", "support_group"),
         ("contribution", "extra"), ("conference",), ("conference", "attendees"), ("conference", "cost_vnd"),
         ("conference", "organiser"), ("extra",)]


# Valid bodies with every optional field present, for the exhaustive sweeps.
FULL_ENROLMENT = {
    "event_id": "5b2a0ee0-1d6d-4d3a-9f0a-3f2b8ad3f5c1", "kind": "registered", "occurred_at": "2025-08-12T09:30:00+07:00",
    "locality_code": "00070", "campaign": "Tháng cao điểm", "scheme": "BHXH_TN",
    "participant": {"personal_id": "001188012345", "si_number": "0123456789", "sex": "female", "birth_year": 1988},
    "contribution": {"months": 12, "amount_vnd": 3_960_000, "chosen_income_vnd": 1_500_000, "support_group": "poor"},
}
FULL_CONFERENCE = {
    "event_id": "5b2a0ee0-1d6d-4d3a-9f0a-3f2b8ad3f5c1", "kind": "conference_held", "occurred_at": "2023-03-02T08:00:00+07:00",
    "locality_code": "22258", "campaign": "Tháng cao điểm",
    "conference": {"attendees": 120, "cost_vnd": 25_000_000, "organiser": "Hội Nông dân"},
}


def single_mutations(paths):
    """Every (path, value) pair: one odd value (or a deletion) at one path."""
    return [(path, value) for path in paths for value in ["delete", *ODD_CONSTANTS]]


def mutate(document: dict, mutations) -> dict:
    """A deep copy of `document` with each (path, value) applied; "delete" removes the key."""
    out = copy.deepcopy(document)
    for path, new in mutations:
        target = out
        for key in path[:-1]:
            target = target.get(key) if isinstance(target, dict) else None
        if not isinstance(target, dict):
            continue
        if new == "delete":
            target.pop(path[-1], None)
        else:
            target[path[-1]] = copy.deepcopy(new)
    return out
