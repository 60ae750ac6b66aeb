"""Structured logs of the capture daemon: one JSON object per line on stderr, never a secret.

``log.info("connected", extra={"fields": {...}})`` -> ``{"ts": "...", "level": "INFO", "logger":
"vntrack.capture", "msg": "connected", ...fields}``. No token, connection token or consumer secret is ever
passed to a log call (the client module hides them from reprs), and the libraries that print URLs or headers
(httpx, httpcore, websockets, picows) are kept at WARNING.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts (UTC ISO), level, logger, msg, the record's ``fields``, exc."""

    def format(self, record: logging.LogRecord) -> str:
        out = {"ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
               "level": record.levelname, "logger": record.name, "msg": record.getMessage()}
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update(fields)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


def configure_logging(level: int = logging.INFO) -> None:
    """``vntrack.capture`` JSON lines on stderr (idempotent); noisy libraries at WARNING."""
    logger = logging.getLogger("vntrack.capture")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    for name in ("httpx", "httpcore", "websockets", "picows"):
        logging.getLogger(name).setLevel(logging.WARNING)
