COPY loc_in (line, code, name, level, parent_code) FROM STDIN
