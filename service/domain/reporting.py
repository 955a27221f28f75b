"""The vocabulary of the reports and of their reference data, defined once. The API's query
and body schemas, the reference loaders' checks and the report queries derive from these; the
database holds the same values in CHECK constraints and tables (migrations 0001, 0020), and
tests/reporting/test_one_definition.py holds the two together."""
from __future__ import annotations

from .model import Scheme, Sex
from .timeline import UNKNOWN_SEX

# Levels of the locality tree, from the root down (a parent's level is strictly higher).
LEVELS = ("nation", "province", "district", "commune")

# Derived totals the reports show beside the schemes: a total and the schemes it sums
# (the table report_scheme_members).
SCHEME_TOTALS = {
    "BHXH": (Scheme.BHXH_BB, Scheme.BHXH_TN),
    "BHYT": (Scheme.BHYT_HGD, Scheme.BHYT_KHAC),
}
REPORT_SCHEMES = tuple(s.value for s in Scheme) + tuple(SCHEME_TOTALS)

PERIOD_TYPES = ("month", "quarter", "year", "ytd")

# Denominators: what a coverage rate or a rate target is measured against.
MEASURES = ("labour_force", "population", "in_scope_bhxh_bb", "in_scope_bhtn")

# The denominator a scheme's coverage is shown against first (one of its
# report_scheme_denominators): the in-scope population for BHXH_BB and BHTN, the labour force
# for voluntary BHXH, the population for BHYT.
PRIMARY_MEASURE = {
    Scheme.BHXH_BB.value: "in_scope_bhxh_bb", Scheme.BHTN.value: "in_scope_bhtn",
    Scheme.BHXH_TN.value: "labour_force", "BHXH": "labour_force",
    Scheme.BHYT_HGD.value: "population", Scheme.BHYT_KHAC.value: "population", "BHYT": "population",
}

# The sexes of the breakdowns: the participant's, or unknown when no event gave it.
BREAKDOWN_SEXES = tuple(s.value for s in Sex) + (UNKNOWN_SEX,)

# Targets: a scheme or total, or the conferences held; counted over the participants active
# at year end, new in the year, or (conferences) held.
CONFERENCES = "conferences"
SUBJECTS = REPORT_SCHEMES + (CONFERENCES,)
BASES = ("active", "new", "held")
