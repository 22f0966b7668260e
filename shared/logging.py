"""structlog set-up: JSON lines by default, console rendering for development.

``request_id`` (and for consumers ``event_id``/``event_type``) are bound through
``structlog.contextvars`` and so appear on every line written while handling that unit of work.
Libraries log through the standard library (uvicorn, SQLAlchemy, nats-py, aiohttp, Alembic): their
records go through the same processors and renderer, so the process writes one stream of one format.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog
from structlog.typing import Processor

from shared import tracing

# Loggers that libraries configure with handlers of their own (uvicorn does, before our factory
# runs): their records must reach the root handler instead, once.
LIBRARY_LOGGERS = ("uvicorn", "uvicorn.error", "sqlalchemy", "nats", "aiohttp", "alembic")
# Ours replaces uvicorn's access log (it knows the route template and the OAuth client).
SILENCED = ("uvicorn.access",)

ACCESS = "http.request"
_HANDLER_NAME = "custody-structlog"


def configure_logging(service: str, *, fmt: str = "json", level: str = "INFO") -> None:
    renderer: Processor = structlog.dev.ConsoleRenderer() if fmt == "console" else structlog.processors.JSONRenderer()
    numeric_level = logging.getLevelName(level.upper())
    shared_processors: list[Processor] = [
        _stamp(service),
        _trace_id,
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[
            *shared_processors,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
    _route_standard_library(shared_processors, renderer, numeric_level)
    structlog.contextvars.bind_contextvars(service=service)


def _stamp(service: str) -> Processor:
    """Names the service on every line, also on lines logged outside any bound context (uvicorn's
    server task)."""

    def stamp(_: Any, __: str, event: structlog.typing.EventDict) -> structlog.typing.EventDict:
        event.setdefault("service", service)
        return event

    return stamp


def _trace_id(_: Any, __: str, event: structlog.typing.EventDict) -> structlog.typing.EventDict:
    """The trace a line belongs to, when tracing is on (shared.tracing)."""
    if tracing.enabled() and (trace_id := tracing.current_trace_id()):
        event.setdefault("trace_id", trace_id)
    return event


def _drop_colour(_: Any, __: str, event: structlog.typing.EventDict) -> structlog.typing.EventDict:
    event.pop("color_message", None)  # uvicorn's terminal-colour duplicate of the message
    return event


def _route_standard_library(shared_processors: list[Processor], renderer: Processor, level: int) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared_processors, structlog.stdlib.add_logger_name, structlog.stdlib.ExtraAdder()],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, _drop_colour, renderer],
        )
    )
    handler.set_name(_HANDLER_NAME)
    root = logging.getLogger()
    # Replace our own handler of an earlier configuration (tests build many apps); keep others'.
    root.handlers[:] = [h for h in root.handlers if h.get_name() != _HANDLER_NAME] + [handler]
    root.setLevel(level)
    for name in LIBRARY_LOGGERS:
        library = logging.getLogger(name)
        library.handlers.clear()
        library.propagate = True
    for name in SILENCED:
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = False
    # SQLAlchemy's INFO is every statement: only when asked for it by name.
    logging.getLogger("sqlalchemy").setLevel(max(level, logging.WARNING))


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger


def log_request(
    *, method: str, route: str | None, path: str, status: int, seconds: float, client_id: str | None
) -> None:
    """The access log: one line per request (uvicorn's own access log is off)."""
    fields: dict[str, Any] = {
        "method": method,
        "route": route,
        "path": path,
        "status": status,
        "duration_ms": round(seconds * 1000, 2),
    }
    if client_id:
        fields["client_id"] = client_id
    structlog.get_logger("access").info(ACCESS, **fields)
