UPDATE api_tokens SET revoked_at = now() WHERE {column} = %s AND revoked_at IS NULL
