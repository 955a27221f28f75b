SELECT {columns} FROM {table} WHERE {any_value}
