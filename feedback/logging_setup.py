"""Structured JSON logs: one object per line with the request id (web) or the RQ job id (workers).

`configure_logging()` installs one JSON handler on the root logger (idempotent). Set FEEDBACK_LOG_FORMAT=plain
for human-readable lines and FEEDBACK_LOG_LEVEL to change the level (default INFO).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import g, has_request_context
from rq import get_current_job

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id", "job_id"}


def request_id_from(header: str | None) -> str:
    """The caller's X-Request-ID when it is a sane token, else a new random id."""
    if header and _VALID_ID.match(header):
        return header
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    """The id of the request being handled, if any."""
    return g.get("request_id") if has_request_context() else None


def current_job_id() -> str | None:
    """The id of the RQ job being run in this worker, if any."""
    job = get_current_job()
    return job.id if job is not None else None


class ContextFilter(logging.Filter):
    """Adds `request_id` and `job_id` to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        if not hasattr(record, "job_id"):
            # a web request is never an RQ job: skip the job lookup (it costs as much as formatting the line)
            record.job_id = None if record.request_id else current_job_id()
        return True


_ENCODE = json.JSONEncoder(default=str, ensure_ascii=False).encode


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object; extra fields given with `extra=` are included."""

    _second: tuple[int, str] = (-1, "")  # replaced whole, so threads never see a torn pair

    def _timestamp(self, created: float) -> str:
        """`created` as ISO 8601 UTC with milliseconds (the seconds part is formatted once per second)."""
        second = int(created)
        cached, prefix = self._second
        if second != cached:
            prefix = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            self._second = (second, prefix)
        return f"{prefix}.{int((created - second) * 1000):03d}+00:00"

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": self._timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in ("request_id", "job_id"):
            if getattr(record, name, None):
                data[name] = getattr(record, name)
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                data[key] = value
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return _ENCODE(data)


def configure_logging(stream: Any = None) -> logging.Handler:
    """Install the JSON (or plain) handler on the root logger once; returns the handler."""
    root = logging.getLogger()
    for handler in root.handlers:
        if getattr(handler, "_feedback_loop", False):
            return handler
    handler = logging.StreamHandler(stream or sys.stderr)
    handler._feedback_loop = True  # type: ignore[attr-defined]
    handler.addFilter(ContextFilter())
    if os.environ.get("FEEDBACK_LOG_FORMAT", "json") == "plain":
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    else:
        handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(os.environ.get("FEEDBACK_LOG_LEVEL", "INFO").upper())
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # our access log replaces werkzeug's
    return handler
