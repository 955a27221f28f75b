DELETE FROM reporting_internal.login_localities WHERE role_name = %s
