DELETE FROM public.{table}
