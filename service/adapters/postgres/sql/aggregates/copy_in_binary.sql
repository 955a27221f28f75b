-- PostgreSQL parses no text: the rows are sent in the binary format of their types.
COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)
