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
