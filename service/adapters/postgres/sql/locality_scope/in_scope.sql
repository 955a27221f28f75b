{column} IN (SELECT descendant_code FROM locality_closure WHERE ancestor_code = ANY(%s::text[]))
