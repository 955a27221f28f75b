SELECT {select}, count(*) OVER () AS total__ FROM {view} WHERE {where}{group}
ORDER BY {order} LIMIT %s OFFSET %s
