COPY ref_in (line, {columns}) FROM STDIN
