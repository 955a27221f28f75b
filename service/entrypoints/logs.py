"""Structured JSON logs, one object a line, for the API and the worker.

Defence in depth for personal data: whatever a log call is given, any run of exactly 10 or 12
digits (an SI number, a personal id) is masked in the line written. The code logs no
request bodies in the first place.
"""
from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

PERSONAL_ID_LIKE = re.compile(r"(?<![0-9])(?:[0-9]{12}|[0-9]{10})(?![0-9])")
_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


def redact(text: str) -> str:
    return PERSONAL_ID_LIKE.sub("[redacted]", text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "pid": record.process,
        }
        for key, val in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                out[key] = val
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return redact(json.dumps(out, default=str, ensure_ascii=False))


def configure_logging(level: str = "INFO", stream=None) -> None:
    """JSON lines on stderr for the root logger (replacing its handlers)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.getLogger("kafka").setLevel(max(logging.WARNING, root.level))
