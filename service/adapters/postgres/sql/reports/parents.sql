SELECT code, parent_code FROM localities WHERE code = ANY(%s)
