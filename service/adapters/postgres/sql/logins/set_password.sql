ALTER ROLE {name} PASSWORD {verifier}
