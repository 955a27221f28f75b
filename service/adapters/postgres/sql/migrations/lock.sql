-- Concurrent starts, one at a time: no grant on the table to anyone else, so unlike an
-- advisory lock no reporting login can take it.
LOCK TABLE schema_migrations IN EXCLUSIVE MODE
