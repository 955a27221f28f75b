CREATE TEMP TABLE ref_in (line int, {text_columns}, reason text) ON COMMIT DROP
