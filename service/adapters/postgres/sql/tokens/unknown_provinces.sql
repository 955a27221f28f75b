SELECT c FROM unnest(%s::text[]) AS c
WHERE NOT EXISTS (SELECT 1 FROM localities WHERE code = c AND level = 'province')
