-- Issue 16: SQL logins limited to subtrees of the locality tree, enforced by PostgreSQL.
--
-- Every view of schema `reporting` moves to the private schema `reporting_internal` (no grant
-- to anyone), and `reporting.X` becomes a security_barrier view over it that keeps only the
-- rows of the localities the querying login may see. The views run with their owner's rights,
-- but `session_user` and `current_user` inside them are the reader's, so one definition
-- serves every login. security_barrier: the login's own conditions (a function of its own that
-- raises on a value, a division by zero) are evaluated only on rows that passed the filter;
-- conditions made of leakproof operators (period_type = '2024', locality_code = '46') are still
-- pushed down into the views, so a period filter reads only that period's months.
--
-- A scoped login is a member of `reporting_reader` (its grants) and of the marker role
-- `reporting_scoped` (roles are cluster-wide: in another database of the cluster, where it has
-- no scope rows, it sees nothing, never the nation). Its subtree roots are rows of
-- `reporting_internal.login_localities`. A session is limited by its session_user (so SET ROLE
-- reporting_reader gains nothing) and by its current_user (so an admin may SET ROLE to a scoped
-- login to see what it sees): a row is visible when each scoped one of the two may see it.
-- Readers that are neither (reporting_reader's nation-wide analysts, the service's own role)
-- see every row.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'reporting_scoped') THEN
        CREATE ROLE reporting_scoped NOLOGIN;
    END IF;
END $$;
COMMENT ON ROLE reporting_scoped IS 'Marker (no privileges): its direct members read the reporting views only within their rows of reporting_internal.login_localities in each database (none: nothing).';

CREATE SCHEMA reporting_internal;
REVOKE ALL ON SCHEMA reporting_internal FROM PUBLIC;
COMMENT ON SCHEMA reporting_internal IS 'The reporting views unfiltered, and the scope of each limited login; no grant to anyone: readers use schema reporting.';

CREATE TABLE reporting_internal.login_localities (
    role_name     name NOT NULL,
    -- No cascade: deleting a locality must not widen a login's scope.
    locality_code text NOT NULL REFERENCES localities (code),
    PRIMARY KEY (role_name, locality_code)
);
COMMENT ON TABLE reporting_internal.login_localities IS 'Roots of the locality subtrees a scoped SQL login (member of reporting_scoped) may read (enrolment logins create --locality).';

-- The roles limiting this session: session_user and current_user, those that are scoped.
CREATE VIEW reporting_internal.session_scoped_roles AS
SELECT r.rolname
FROM pg_roles r
WHERE r.rolname IN (session_user, current_user)
  AND (EXISTS (SELECT 1 FROM pg_auth_members m
               WHERE m.member = r.oid AND m.roleid = (SELECT oid FROM pg_roles WHERE rolname = 'reporting_scoped'))
       OR EXISTS (SELECT 1 FROM reporting_internal.login_localities s WHERE s.role_name = r.rolname));

CREATE VIEW reporting_internal.session_sees_nation AS
SELECT NOT EXISTS (SELECT 1 FROM reporting_internal.session_scoped_roles) AS nation;

-- The localities this session may see when it is scoped: inside a subtree of each scoped role.
CREATE VIEW reporting_internal.session_localities AS
SELECT l.code
FROM localities l
WHERE NOT EXISTS (
    SELECT 1 FROM reporting_internal.session_scoped_roles r
    WHERE NOT EXISTS (
        SELECT 1 FROM reporting_internal.login_localities s
        JOIN locality_closure c ON c.ancestor_code = s.locality_code
        WHERE s.role_name = r.rolname AND c.descendant_code = l.code));

-- Views whose rows name no locality and carry no figure: every reader sees them whole.
CREATE TABLE reporting_internal.unscoped_views (view_name name PRIMARY KEY);
INSERT INTO reporting_internal.unscoped_views VALUES ('periods');
COMMENT ON TABLE reporting_internal.unscoped_views IS 'Reporting views without locality rows (the calendar), readable whole by scoped logins. Any other view without a locality_code column shows a scoped login nothing.';

-- Wrap every view of `reporting` that is not wrapped yet; returns how many. Idempotent: a
-- migration that adds a reporting view ends with SELECT reporting_internal.scope_reporting_views();
-- (tests/database/test_scoped_logins.py fails for a view left unwrapped). To change a wrapped
-- view, replace reporting_internal.X (the wrapper follows, its columns permitting).
CREATE FUNCTION reporting_internal.scope_reporting_views() RETURNS integer
LANGUAGE plpgsql AS $fn$
DECLARE
    target name;
    inner_oid oid;
    keep text;
    col record;
    wrapped integer := 0;
BEGIN
    FOR target IN
        SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'reporting' AND c.relkind = 'v'
          AND NOT coalesce('security_barrier=true' = ANY (c.reloptions), false)
        ORDER BY c.relname
    LOOP
        IF to_regclass(format('reporting_internal.%I', target)) IS NOT NULL THEN
            RAISE EXCEPTION 'reporting.% was replaced after it was scoped: replace reporting_internal.% instead', target, target;
        END IF;
        EXECUTE format('ALTER VIEW reporting.%I SET SCHEMA reporting_internal', target);
        inner_oid := format('reporting_internal.%I', target)::regclass;
        IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = inner_oid AND attname = 'locality_code' AND NOT attisdropped) THEN
            keep := '(SELECT nation FROM reporting_internal.session_sees_nation)'
                 || ' OR v.locality_code IN (SELECT code FROM reporting_internal.session_localities)';
        ELSIF target = 'localities' THEN
            keep := '(SELECT nation FROM reporting_internal.session_sees_nation)'
                 || ' OR v.code IN (SELECT code FROM reporting_internal.session_localities)';
        ELSIF EXISTS (SELECT 1 FROM reporting_internal.unscoped_views u WHERE u.view_name = target) THEN
            keep := 'true';
        ELSE
            keep := '(SELECT nation FROM reporting_internal.session_sees_nation)';
        END IF;
        EXECUTE format('CREATE VIEW reporting.%I WITH (security_barrier) AS SELECT v.* FROM reporting_internal.%I v WHERE %s',
                       target, target, keep);
        EXECUTE format('COMMENT ON VIEW reporting.%I IS %L', target,
                       concat_ws(' ', obj_description(inner_oid, 'pg_class'),
                                 'A login limited to localities (enrolment logins create --locality) sees only their rows.'));
        FOR col IN
            SELECT a.attname, col_description(inner_oid, a.attnum) AS doc FROM pg_attribute a
            WHERE a.attrelid = inner_oid AND a.attnum > 0 AND NOT a.attisdropped
              AND col_description(inner_oid, a.attnum) IS NOT NULL
        LOOP
            EXECUTE format('COMMENT ON COLUMN reporting.%I.%I IS %L', target, col.attname, col.doc);
        END LOOP;
        EXECUTE format('REVOKE ALL ON reporting_internal.%I FROM PUBLIC, reporting_reader', target);
        EXECUTE format('GRANT SELECT ON reporting.%I TO reporting_reader', target);
        wrapped := wrapped + 1;
    END LOOP;
    RETURN wrapped;
END
$fn$;
REVOKE ALL ON FUNCTION reporting_internal.scope_reporting_views() FROM PUBLIC;

SELECT reporting_internal.scope_reporting_views();
