CREATE TABLE {schema}.{table} (LIKE public.{table} INCLUDING ALL)
