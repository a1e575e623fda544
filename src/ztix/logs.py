"""Log lines: one JSON object per line on stderr, for every process and uvicorn's loggers.

Kept apart from ztix.observability (metrics, which import prometheus_client, httpx and the
database layer): uvicorn's supervisor (`ztix serve`'s long-lived process, ztix.supervisor)
configures its logging with this module alone."""

from __future__ import annotations

import json as jsonlib
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from ztix import context


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, correlation_id (and exc)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "correlation_id": context.correlation_id.get(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc"] = record.exc_text
        return jsonlib.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """A line for a person at a terminal: local time, level, logger, message, and the
    request's correlation ID when there is one (``logging.format: text``)."""

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        line = f"{when} {record.levelname:<7} {record.name}: {record.getMessage()}"
        cid = context.correlation_id.get()
        if cid:
            line += f"  [{cid}]"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        elif record.exc_text:
            line += "\n" + record.exc_text
        return line


def json_wanted(choice: str, *, production: bool, stream: Any = None) -> bool:
    """``logging.format`` resolved: ``auto`` is JSON unless ``stream`` (stderr) is a
    terminal outside production."""
    if choice != "auto":
        return choice == "json"
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return production or not (callable(isatty) and bool(isatty()))


def logging_config(level: str, *, json: bool = True) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for this process and uvicorn's (``log_config``):
    every logger, uvicorn's included, writes through one root handler on stderr."""
    formatter: dict[str, Any] = {
        "()": f"{__name__}.JsonFormatter" if json else f"{__name__}.TextFormatter"
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["default"], "level": level.upper()},
        "loggers": {
            name: {"handlers": [], "propagate": True, "level": level.upper()}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "celery")
        },
    }


def configure_logging(level: str, json: bool = True) -> None:
    """Send every log record to stderr, one JSON object per line (or plain text)."""
    import logging.config

    logging.config.dictConfig(logging_config(level, json=json))
