-- Reporting reference data (issue 4): denominators, targets, the period calendar and the
-- scheme arithmetic every report view uses.

-- Denominators per locality (any level) and year, one row per measure.
CREATE TABLE denominators (
    locality_code text    NOT NULL REFERENCES localities (code),
    year          integer NOT NULL CHECK (year BETWEEN 1990 AND 2100),
    measure       text    NOT NULL CHECK (measure IN
                    ('labour_force', 'population', 'in_scope_bhxh_bb', 'in_scope_bhtn')),
    value         bigint  NOT NULL CHECK (value >= 0),
    source        text    NOT NULL DEFAULT '',
    loaded_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (locality_code, year, measure)
);
COMMENT ON TABLE denominators IS 'Coverage denominators per locality, year and measure (labour force of working age, population, in-scope population for BHXH_BB and BHTN).';

-- Targets (kế hoạch, chỉ tiêu) per locality, year and subject: a scheme, a derived total or
-- the number of conferences; as a count or as a percentage of a denominator.
CREATE TABLE targets (
    locality_code       text    NOT NULL REFERENCES localities (code),
    year                integer NOT NULL CHECK (year BETWEEN 1990 AND 2100),
    subject             text    NOT NULL CHECK (subject IN
                          ('BHXH_BB', 'BHXH_TN', 'BHTN', 'BHYT_HGD', 'BHYT_KHAC', 'BHXH', 'BHYT', 'conferences')),
    basis               text    NOT NULL CHECK (basis IN ('active', 'new', 'held')),
    target_count        bigint  CHECK (target_count >= 0),
    target_rate_pct     numeric(7, 3) CHECK (target_rate_pct > 0 AND target_rate_pct <= 100),
    denominator_measure text    CHECK (denominator_measure IN
                          ('labour_force', 'population', 'in_scope_bhxh_bb', 'in_scope_bhtn')),
    source              text    NOT NULL DEFAULT '',
    loaded_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (locality_code, year, subject, basis),
    CHECK ((target_count IS NULL) <> (target_rate_pct IS NULL)),
    CHECK ((target_rate_pct IS NULL) = (denominator_measure IS NULL)),
    CHECK ((subject = 'conferences') = (basis = 'held'))
);
COMMENT ON TABLE targets IS 'Plan targets per locality, year and subject: a count, or a percentage of a denominator measure. basis: active = participants at year end, new = new participants in the year, held = conferences held.';

-- Report schemes: the five schemes and the derived totals, as sums of member schemes.
CREATE TABLE report_scheme_members (
    scheme text NOT NULL,
    member text NOT NULL,
    PRIMARY KEY (scheme, member)
);
INSERT INTO report_scheme_members VALUES
    ('BHXH_BB', 'BHXH_BB'), ('BHXH_TN', 'BHXH_TN'), ('BHTN', 'BHTN'),
    ('BHYT_HGD', 'BHYT_HGD'), ('BHYT_KHAC', 'BHYT_KHAC'),
    ('BHXH', 'BHXH_BB'), ('BHXH', 'BHXH_TN'),
    ('BHYT', 'BHYT_HGD'), ('BHYT', 'BHYT_KHAC');

-- Which denominators a scheme's coverage is measured against (docs/reporting.md).
CREATE TABLE report_scheme_denominators (
    scheme  text NOT NULL,
    measure text NOT NULL,
    PRIMARY KEY (scheme, measure)
);
INSERT INTO report_scheme_denominators VALUES
    ('BHXH_BB', 'in_scope_bhxh_bb'), ('BHXH_BB', 'labour_force'),
    ('BHTN', 'in_scope_bhtn'), ('BHTN', 'labour_force'),
    ('BHXH_TN', 'labour_force'), ('BHXH', 'labour_force'),
    ('BHYT_HGD', 'population'), ('BHYT_KHAC', 'population'), ('BHYT', 'population');

-- The period calendar: month, quarter, year and year-to-date periods, 2000-2060, each with the
-- bounds of its previous period and of the same period one year earlier. Bounds are first days
-- of months (the aggregates' `month`); period_end is the first day of the period's last month.
CREATE TABLE report_periods (
    period_type    text    NOT NULL CHECK (period_type IN ('month', 'quarter', 'year', 'ytd')),
    period         text    NOT NULL,
    year           integer NOT NULL,
    period_start   date    NOT NULL,
    period_end     date    NOT NULL,
    prev_start     date    NOT NULL,
    prev_end       date    NOT NULL,
    ly_start       date    NOT NULL,
    ly_end         date    NOT NULL,
    previous_period text   NOT NULL,
    same_period_last_year text NOT NULL,
    PRIMARY KEY (period_type, period)
);
CREATE INDEX report_periods_end_idx ON report_periods (period_end);

WITH m AS (
    SELECT d::date AS month FROM generate_series('2000-01-01'::date, '2060-12-01', '1 month') d
)
INSERT INTO report_periods
SELECT 'month', to_char(month, 'YYYY-MM'), extract(year FROM month)::int, month, month,
       (month - interval '1 month')::date, (month - interval '1 month')::date,
       (month - interval '1 year')::date, (month - interval '1 year')::date,
       to_char(month - interval '1 month', 'YYYY-MM'), to_char(month - interval '1 year', 'YYYY-MM')
FROM m
UNION ALL
SELECT 'quarter', to_char(month, 'YYYY-"Q"Q'), extract(year FROM month)::int,
       month, (month + interval '2 months')::date,
       (month - interval '3 months')::date, (month - interval '1 month')::date,
       (month - interval '1 year')::date, (month + interval '2 months' - interval '1 year')::date,
       to_char(month - interval '3 months', 'YYYY-"Q"Q'), to_char(month - interval '1 year', 'YYYY-"Q"Q')
FROM m WHERE extract(month FROM month) IN (1, 4, 7, 10)
UNION ALL
SELECT 'year', to_char(month, 'YYYY'), extract(year FROM month)::int,
       month, (month + interval '11 months')::date,
       (month - interval '1 year')::date, (month - interval '1 month')::date,
       (month - interval '1 year')::date, (month - interval '1 month')::date,
       to_char(month - interval '1 year', 'YYYY'), to_char(month - interval '1 year', 'YYYY')
FROM m WHERE extract(month FROM month) = 1
UNION ALL
-- Year to date: January to the named month; its previous period ends a month earlier (for a
-- January: the whole previous year).
SELECT 'ytd', to_char(month, 'YYYY-MM') || '-YTD', extract(year FROM month)::int,
       date_trunc('year', month)::date, month,
       date_trunc('year', month - interval '1 month')::date, (month - interval '1 month')::date,
       date_trunc('year', month - interval '1 year')::date, (month - interval '1 year')::date,
       to_char(month - interval '1 month', 'YYYY-MM') || '-YTD', to_char(month - interval '1 year', 'YYYY-MM') || '-YTD'
FROM m;
