INSERT INTO reporting_internal.login_localities (role_name, locality_code) SELECT %s, unnest(%s::text[])
