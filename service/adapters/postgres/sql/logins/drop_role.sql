DROP ROLE {name}
