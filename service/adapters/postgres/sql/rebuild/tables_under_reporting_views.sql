-- The public tables that the views of schema `reporting` read, through views over views too:
-- a reporting login can lock exactly these (ACCESS SHARE, by querying or locking a view).
WITH RECURSIVE reached(oid, relkind) AS (
    SELECT c.oid, c.relkind FROM pg_class c WHERE c.relnamespace = 'reporting'::regnamespace
    UNION
    SELECT d.refobjid, ref.relkind
    FROM reached v
    JOIN pg_rewrite r ON r.ev_class = v.oid
    JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
                    AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> v.oid
    JOIN pg_class ref ON ref.oid = d.refobjid
    WHERE v.relkind IN ('v', 'm')
)
SELECT c.relname FROM reached JOIN pg_class c ON c.oid = reached.oid
WHERE c.relkind IN ('r', 'p') AND c.relnamespace = 'public'::regnamespace
