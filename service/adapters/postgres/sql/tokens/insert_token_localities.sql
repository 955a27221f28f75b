INSERT INTO api_token_localities (token_id, locality_code) SELECT %s, unnest(%s::text[])
