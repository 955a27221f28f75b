"""The outage the use cases' database ports report, whatever the database library: adapters
translate their driver's connection errors and timeouts into it, entrypoints answer it (the API
with 503, the relay by trying again next round). Other database errors are bugs and propagate."""
from __future__ import annotations


class DatabaseUnavailable(Exception):
    """PostgreSQL did not answer in time: down, restarting, or out of connections."""
