SELECT to_regclass('schema_migrations')
