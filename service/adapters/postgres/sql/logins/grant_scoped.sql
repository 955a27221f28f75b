GRANT {scoped_role} TO {name}
