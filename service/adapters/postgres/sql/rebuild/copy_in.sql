INSERT INTO public.{table} SELECT * FROM {schema}.{table}
