SELECT r.rolname, r.rolconnlimit, r.rolvaliduntil,
       (SELECT count(*) FROM pg_stat_activity a WHERE a.usename = r.rolname),
       ARRAY(SELECT s.locality_code FROM reporting_internal.login_localities s
             WHERE s.role_name = r.rolname ORDER BY 1)
FROM pg_roles r JOIN pg_auth_members m ON m.member = r.oid
WHERE m.roleid = %s::regrole AND r.rolcanlogin ORDER BY r.rolname
