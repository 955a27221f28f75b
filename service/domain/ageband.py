"""Age bands for breakdowns; the SQL function `age_band()` (migration 0001) is the same."""

BANDS = ("under_15", "15_24", "25_34", "35_44", "45_54", "55_64", "65_plus", "unknown")


def age_band(birth_year: int | None, on_year: int) -> str:
    if not birth_year:
        return "unknown"
    age = on_year - birth_year
    for upper, band in ((15, "under_15"), (25, "15_24"), (35, "25_34"), (45, "35_44"), (55, "45_54"), (65, "55_64")):
        if age < upper:
            return band
    return "65_plus"
