"""Per-request context carried across awaits: the request id and the acting principal."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

# Set by the Idempotency-Key middleware while it runs a request: ``(database, hook)``; every write
# transaction of that request on that database calls ``hook(session)`` just before committing, so
# that the key records "effects committed" atomically with the effects themselves.
before_commit_var: ContextVar[tuple[Any, Callable[[Any], Awaitable[None]]] | None] = ContextVar(
    "before_commit", default=None
)
