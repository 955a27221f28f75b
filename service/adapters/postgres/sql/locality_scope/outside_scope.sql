SELECT n.code FROM unnest(%s::text[]) AS n(code) WHERE NOT EXISTS (
    SELECT 1 FROM locality_closure WHERE ancestor_code = ANY(%s::text[]) AND descendant_code = n.code)
