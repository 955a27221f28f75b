SELECT v.locality_code, v.scheme, v.{column} FROM {view} v
JOIN unnest(%s::text[], %s::text[]) AS k(locality_code, scheme)
  ON k.locality_code = v.locality_code AND k.scheme = v.scheme
WHERE v.period_type = %s AND v.period = %s
