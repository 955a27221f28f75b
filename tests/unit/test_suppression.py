"""Small-cell suppression of one answer (service/domain/suppression.py): every small cell is
withheld, and no sum in the answer has exactly one withheld cell (it could be computed back)."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from service.domain.suppression import Cells, suppress

CELLS = Cells(keys=("sex",), counts=("active",), money={})
MEMBERS = {"BHXH": ("BHXH_BB", "BHXH_TN")}


@st.composite
def answers(draw):
    """A province with 1-4 communes, two sexes, BHXH_BB, BHXH_TN and their sum BHXH; the
    commune values drawn (small ones often), every total the sum of its parts."""
    communes = [f"c{i}" for i in range(draw(st.integers(1, 4)))]
    parent_of = {c: "p" for c in communes} | {"p": "VN"}
    rows = []
    for sex in ("female", "male"):
        totals: dict[str, int] = {}
        for commune in communes:
            values = {s: draw(st.integers(0, 12)) for s in MEMBERS["BHXH"]}
            values["BHXH"] = sum(values.values())
            for scheme, value in values.items():
                rows.append({"locality_code": commune, "scheme": scheme, "sex": sex, "active": value})
                totals[scheme] = totals.get(scheme, 0) + value
        rows += [{"locality_code": "p", "scheme": s, "sex": sex, "active": v} for s, v in totals.items()]
    return draw(st.permutations(rows)), parent_of


def _sums(rows, parent_of):
    """Every sum among the rows, as lists of row indexes (total first), found independently."""
    at = {(r["locality_code"], r["scheme"], r["sex"]): i for i, r in enumerate(rows)}
    sums = []
    for (place, scheme, sex), i in at.items():
        if scheme in MEMBERS:
            sums.append([i] + [at[(place, m, sex)] for m in MEMBERS[scheme]])
        children = [at[k] for k in at if parent_of.get(k[0]) == place and k[1:] == (scheme, sex)]
        if children:
            sums.append([i] + children)
    return sums


@given(answers(), st.integers(2, 10))
@settings(max_examples=300, deadline=None)
def test_small_cells_are_withheld_and_no_sum_gives_one_back(answer, k):
    rows, parent_of = answer
    original = [dict(r) for r in rows]
    suppress(rows, CELLS, k, parent_of=parent_of, members_of=MEMBERS)
    for before, after in zip(original, rows):
        withheld = after["suppressed"] == ["active"]
        assert withheld == (after["active"] is None)
        if 0 < before["active"] < k:
            assert withheld  # primary
        if not withheld:
            assert after["active"] == before["active"]
    for members in _sums(rows, parent_of):
        hidden = sum(rows[i]["active"] is None for i in members)
        assert hidden != 1, [original[i] for i in members]


def test_money_follows_the_payers_and_zero_is_shown():
    cells = Cells(keys=("agent_id",), counts=("new_participants", "renewals"),
                  money={"contribution_vnd": ("new_participants", "renewals")})
    rows = [{"locality_code": "c", "scheme": "BHXH_TN", "agent_id": "a", "new_participants": 1, "renewals": 1,
             "contribution_vnd": 990_000},
            {"locality_code": "c", "scheme": "BHXH_TN", "agent_id": "b", "new_participants": 0, "renewals": 40,
             "contribution_vnd": 9_000_000}]
    suppress(rows, cells, 3, parent_of={"c": "p"}, members_of={})
    assert rows[0]["suppressed"] == ["new_participants", "renewals", "contribution_vnd"]
    assert rows[0]["contribution_vnd"] is None
    assert rows[1] == {"locality_code": "c", "scheme": "BHXH_TN", "agent_id": "b", "new_participants": 0,
                       "renewals": 40, "contribution_vnd": 9_000_000, "suppressed": []}
