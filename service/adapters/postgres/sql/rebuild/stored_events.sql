SELECT {columns} FROM public.{table} e
