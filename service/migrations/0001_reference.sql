-- Reference data: the locality tree (any depth) and helpers every report uses.

CREATE TABLE localities (
    code        text PRIMARY KEY,
    name        text NOT NULL,
    level       text NOT NULL CHECK (level IN ('nation', 'province', 'district', 'commune')),
    parent_code text REFERENCES localities (code) DEFERRABLE INITIALLY DEFERRED,
    CHECK ((level = 'nation') = (parent_code IS NULL))
);
CREATE INDEX localities_parent_idx ON localities (parent_code);
COMMENT ON TABLE localities IS 'Administrative units as a tree of any depth: nation > province > (district >) commune.';

-- Every (ancestor, descendant) pair, itself included (depth 0): rollups are one join.
-- Maintained by the locality loader from `localities`.
CREATE TABLE locality_closure (
    ancestor_code   text NOT NULL REFERENCES localities (code) ON DELETE CASCADE,
    descendant_code text NOT NULL REFERENCES localities (code) ON DELETE CASCADE,
    depth           smallint NOT NULL CHECK (depth >= 0),
    PRIMARY KEY (ancestor_code, descendant_code)
);
CREATE INDEX locality_closure_descendant_idx ON locality_closure (descendant_code, ancestor_code);

-- Age bands used by every breakdown (same bands as service.domain.ageband).
CREATE FUNCTION age_band(birth_year integer, on_year integer) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN birth_year IS NULL OR birth_year = 0 THEN 'unknown'
        WHEN on_year - birth_year < 15 THEN 'under_15'
        WHEN on_year - birth_year < 25 THEN '15_24'
        WHEN on_year - birth_year < 35 THEN '25_34'
        WHEN on_year - birth_year < 45 THEN '35_44'
        WHEN on_year - birth_year < 55 THEN '45_54'
        WHEN on_year - birth_year < 65 THEN '55_64'
        ELSE '65_plus'
    END
$$;
