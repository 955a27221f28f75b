import pytest

from service.domain.identity import Pseudonymiser, decode_personal_id
from service.domain.model import Sex


@pytest.mark.parametrize(
    "pid, sex, year",
    [
        ("001090000123", Sex.MALE, 1990),
        ("001190000123", Sex.FEMALE, 1990),
        ("079205001234", Sex.MALE, 2005),
        ("079301001234", Sex.FEMALE, 2001),
        ("036099000001", Sex.MALE, 1999),
    ],
)
def test_personal_id_encodes_sex_and_birth_year(pid, sex, year):
    facts = decode_personal_id(pid)
    assert (facts.sex, facts.birth_year, facts.birth_province) == (sex, year, pid[:3])


@pytest.mark.parametrize("bad", ["12345", "00109000012a", "0010900001234"])
def test_malformed_personal_id_is_rejected(bad):
    with pytest.raises(ValueError):
        decode_personal_id(bad)


def test_pseudonyms_are_keyed_deterministic_and_namespaced():
    a, b = Pseudonymiser("k1"), Pseudonymiser("k2")
    assert a.personal_id("001090000123") == a.personal_id("001090000123")
    assert a.personal_id("001090000123") != b.personal_id("001090000123")
    assert a.si_number("0123456789") != a.personal_id("0123456789")
    assert len(a.personal_id("001090000123")) == 16
    with pytest.raises(ValueError):
        Pseudonymiser("")


def test_pseudonyms_are_truncated_hmac_sha256_of_namespace_and_id():
    # Pinned: every stored pseudonym depends on this exact construction (HMAC-SHA256, RFC 2104,
    # of "pid:<id>" / "sin:<id>", first 16 bytes), so no change of implementation may alter it.
    a = Pseudonymiser("k1")
    assert a.personal_id("001090000123").hex() == "b8f1b98b3e9d64c9606b16247d705d44"
    assert a.si_number("0123456789").hex() == "081a010b16750f46d199d37387002574"
    assert a.personal_id("001090000123") == a.personal_id("001090000123")  # the keyed MAC is copied, not consumed
