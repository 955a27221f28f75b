-- Plausibility rules of voluntary BHXH contributions, with effective dates (they change by
-- decree). Loaded from seeds/contribution_rules.csv by `enrolment migrate` (or
-- `enrolment contribution-rules load FILE`); the API reads them, per worker, every few minutes.

CREATE TABLE contribution_rules (
    effective_from          date PRIMARY KEY,
    effective_to            date CHECK (effective_to IS NULL OR effective_to >= effective_from),
    poverty_line_vnd        bigint NOT NULL CHECK (poverty_line_vnd > 0),
    reference_level_vnd     bigint NOT NULL CHECK (reference_level_vnd > 0),
    income_cap_multiple     integer NOT NULL CHECK (income_cap_multiple > 0),
    contribution_rate       numeric(6, 4) NOT NULL CHECK (contribution_rate > 0 AND contribution_rate < 1),
    allowed_months          integer[] NOT NULL,
    max_advance_months      integer NOT NULL,
    max_advance_discount    numeric(6, 4) NOT NULL CHECK (max_advance_discount BETWEEN 0 AND 1),
    support_poor            numeric(6, 4) NOT NULL,
    support_near_poor       numeric(6, 4) NOT NULL,
    support_ethnic_minority numeric(6, 4) NOT NULL,
    support_other           numeric(6, 4) NOT NULL,
    rounding_tolerance_vnd  integer NOT NULL CHECK (rounding_tolerance_vnd >= 0),
    source                  text NOT NULL DEFAULT '',
    EXCLUDE USING gist (daterange(effective_from, effective_to, '[]') WITH &&)
);
COMMENT ON TABLE contribution_rules IS 'Voluntary BHXH plausibility by decree: one row per period in force, periods never overlap.';
