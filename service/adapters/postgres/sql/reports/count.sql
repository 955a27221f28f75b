SELECT count(*) FROM (SELECT 1 FROM {view} WHERE {where}{group}) q
