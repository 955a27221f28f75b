-- Issue 13: locks that no reporting login can take or block, and no way for one to hold
-- a lock that an apply needs.
--
-- Applies and a rebuild's swap were serialised with advisory locks (keys 7400003/7400004),
-- which any role may take. They now lock these empty tables (service/adapters/postgres/
-- locks.py): LOCK TABLE stronger than ACCESS SHARE needs UPDATE, DELETE or TRUNCATE on the
-- table, and nobody but the owner (the service's role) has any privilege on the schema.
CREATE SCHEMA service_locks;
COMMENT ON SCHEMA service_locks IS 'Empty tables whose table locks serialise the service''s writers; no grant to anyone.';
REVOKE ALL ON SCHEMA service_locks FROM PUBLIC;
CREATE TABLE service_locks.apply ();
COMMENT ON TABLE service_locks.apply IS 'LOCK TABLE … IN EXCLUSIVE MODE: one apply at a time, for the rest of its transaction.';
CREATE TABLE service_locks.swap ();
COMMENT ON TABLE service_locks.swap IS 'SHARE by every apply for its whole transaction, EXCLUSIVE by a rebuild''s swap.';
REVOKE ALL ON service_locks.apply, service_locks.swap FROM PUBLIC;

-- reporting_reader reads the reporting views and nothing else. Make that explicit for what
-- PUBLIC could otherwise reach: no table in public is granted to PUBLIC by the migrations,
-- and PostgreSQL 16 gives PUBLIC no CREATE on schema public. A reader can still take ACCESS
-- SHARE locks on the tables under the views (SELECT, or LOCK on a view): those conflict only
-- with ACCESS EXCLUSIVE, which no apply takes, and a rebuild's swap empties those tables with
-- DELETE, not TRUNCATE (service/adapters/postgres/rebuild.py).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

-- Reporting logins' statement and idle-in-transaction timeouts are database-level defaults
-- that the service's own role overrides for itself (role-in-database settings win): they
-- are set by `migrate()` on every run (service/adapters/postgres/migrations.py), not here,
-- because per-database settings are not carried by CREATE DATABASE … TEMPLATE or pg_dump.
