"""Log records as the service writes them: JSON lines in production, one readable line in
development, each with the request id of the request it belongs to. No field can start a
line of its own (JSON escapes it; the readable form escapes control characters and indents a
traceback), and a message is cut at MAX_MESSAGE characters, so a Stripe payload or a URL can
neither forge a record nor make a huge one."""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TextIO

# The request being answered (app/http/request_id.py sets it); None outside a request.
current_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

MAX_MESSAGE = 2000
# Characters that end or rewrite a line on a terminal or in a log pipeline.
_BREAKING = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")


def clip(text: str, limit: int) -> str:
    """`text`, or its first `limit` characters and how many more there were."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"


def one_line(text: str) -> str:
    """Control characters shown escaped (\\n, \\x1b, ...): the text stays on its line."""
    return _BREAKING.sub(lambda m: repr(m.group())[1:-1], text)


def new_request_id() -> str:
    return f"req_{secrets.token_hex(12)}"


class RequestIdFilter(logging.Filter):
    """Gives every record the request id of the request it was logged in (or None)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id.get()
        return True


class JsonLines(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request_id, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": clip(record.getMessage(), MAX_MESSAGE),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            entry["request_id"] = request_id
        if record.exc_info:
            entry["exception"] = clip(self.formatException(record.exc_info), 4 * MAX_MESSAGE)
        return json.dumps(entry, ensure_ascii=True, default=str)


class Readable(logging.Formatter):
    """`LEVEL logger [request id]: message`, the message on one line; a traceback follows
    indented, so no line of it can pass for a record."""

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None)
        where = f"{record.name} [{request_id}]" if request_id else record.name
        line = f"{record.levelname} {where}: {one_line(clip(record.getMessage(), MAX_MESSAGE))}"
        if record.exc_info:
            trace = clip(self.formatException(record.exc_info), 4 * MAX_MESSAGE)
            line += "".join(f"\n    | {one_line(part)}" for part in trace.splitlines())
        return line


def configure_logging(
    json_lines: bool | None = None, level: int = logging.INFO, stream: TextIO | None = None
) -> None:
    """The root logger's one handler, on stderr. JSON lines in production (APP_ENV), or as
    LOG_FORMAT (json or text) says; uvicorn's loggers are left to propagate here."""
    if json_lines is None:
        chosen = os.environ.get("LOG_FORMAT", "").strip().lower()
        production = os.environ.get("APP_ENV", "").strip().lower() == "production"
        json_lines = chosen == "json" or (chosen != "text" and production)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLines() if json_lines else Readable())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
