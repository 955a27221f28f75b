CREATE TEMP TABLE loc_in (
    line int, code text, name text, level text, parent_code text, reason text
) ON COMMIT DROP
