"""The outages the use cases' ports report, whatever the library behind them: adapters
translate their driver's connection errors and timeouts into these, entrypoints answer them
(the API with 503, the relay by trying again next round, `enrolment status` by saying so).
Other errors are bugs and propagate."""
from __future__ import annotations


class DatabaseUnavailable(Exception):
    """PostgreSQL did not answer in time: down, restarting, or out of connections."""


class Unreachable(Exception):
    """A part of the pipeline did not answer a status check (`enrolment status`); the message
    says which and why, in one line."""
