"""``Idempotency-Key`` on POST: a retry with the same key and body gets the first response; the
same key with another body gets 422; a retry while the first is still running gets 409.

Keys are scoped to the caller (the token's subject, or ``anonymous``), so one client can never
replay another's response. A record whose request crashed before it committed anything (no stored
response after ``STALE_AFTER``) is taken over by the retry. The request's own write transactions
mark the key ``COMMITTED`` atomically with their effects, so a request that crashed after
committing but before its response was stored is never run again: its retries get 409
``idempotency-response-lost`` (tests/faults/test_service_faults.py measured the duplicate before).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import orjson
import sqlalchemy as sa
import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.auth import TokenVerifier
from shared.clock import as_utc, utcnow
from shared.db import Database, insert_ignore
from shared.errors import RETRYABLE_CODES, DomainError, ErrorCode, problem
from shared.i18n import text

log = structlog.get_logger("shared.idempotency")
HEADER = b"idempotency-key"
MAX_KEY_LENGTH = 200
MAX_BODY = 11 * 1024 * 1024
STALE_AFTER = timedelta(seconds=60)
REPLAYED_HEADERS = {"content-type", "etag", "location"}
# Fields of a success body that hold a secret shown once (gateway clients and invitations, notify
# webhooks, tokens): stored redacted.
SECRET_FIELDS = frozenset({"client_secret", "secret", "password", "access_token", "refresh_token", "code"})
REDACTED = "[redacted]"
COMMITTED = 0  # status_code of a key whose request committed its effects; its response is not stored yet


STATE_KEY = "idempotency"


class Reservation:
    """A request's claim on its Idempotency-Key. The request's unit of work calls
    ``mark_committed`` inside its transaction, so "the effects committed" is recorded atomically
    with the effects (``shared.app.unit_of_work`` passes it as a ``before_commit`` hook)."""

    def __init__(self, table: sa.Table, where: Any) -> None:
        self.table = table
        self.where = where

    async def mark_committed(self, session: Any) -> None:
        t = self.table
        await session.execute(sa.update(t).where(self.where, t.c.status_code.is_(None)).values(status_code=COMMITTED))


def reservation_of(scope: Scope) -> Reservation | None:
    """The Idempotency-Key reservation of the request, if it carries a key."""
    state = scope.get("state") or {}
    reservation: Reservation | None = state.get(STATE_KEY)
    return reservation


class IdempotencyMiddleware:
    """Keys are kept in ``table`` of ``db`` (the service's own database); callers are told apart
    by the subject of their token, checked with ``verifier``."""

    def __init__(self, app: ASGIApp, *, db: Database, table: sa.Table, verifier: TokenVerifier) -> None:
        self.app = app
        self.db = db
        self.table = table
        self.verifier = verifier

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        raw_key = headers.get(HEADER)
        if raw_key is None:
            await self.app(scope, receive, send)
            return
        key = raw_key.decode("latin-1").strip()
        if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
            await problem(
                422,
                code=ErrorCode.INVALID_IDEMPOTENCY_KEY,
                detail=text(
                    "Idempotency-Key 须为 1–200 个可打印字符", "Idempotency-Key must be 1–200 printable characters"
                ),
                instance=scope["path"],
            )(scope, receive, send)
            return
        db, table = self.db, self.table

        body, receive = await _buffer(receive)
        if body is None:  # too large: let the route answer 413
            await self.app(scope, receive, send)
            return
        caller = await _caller(scope, self.verifier)
        digest = hashlib.sha256(
            scope["path"].encode() + b"?" + scope.get("query_string", b"") + b"\n" + body
        ).hexdigest()
        where = sa.and_(table.c.scope == caller, table.c.key == key)

        async with db.transaction() as session:
            fresh = await insert_ignore(
                session,
                table,
                {
                    "scope": caller,
                    "key": key,
                    "method": "POST",
                    "path": scope["path"][:500],
                    "body_sha256": digest,
                    "created_at": utcnow(),
                },
            )
            existing = None if fresh else (await session.execute(sa.select(table).where(where))).mappings().first()
            if (
                existing is not None
                and existing["status_code"] is None
                and existing["body_sha256"] == digest
                and utcnow() - as_utc(existing["created_at"]) > STALE_AFTER
            ):
                await session.execute(sa.update(table).where(where).values(created_at=utcnow()))
                existing = None  # abandoned by a crashed request: take it over
        if existing is not None:
            await self._answer_existing(existing, digest, scope, receive, send)
            return

        captured: dict[str, Any] = {"status": 500, "headers": [], "body": bytearray()}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = message.get("headers", [])
            elif message["type"] == "http.response.body":
                captured["body"].extend(message.get("body", b""))
            await send(message)

        reservation = Reservation(table, where)
        scope.setdefault("state", {})[STATE_KEY] = reservation
        try:
            await self.app(scope, receive, capture)
        finally:
            kept = {
                k.decode("latin-1"): v.decode("latin-1")
                for k, v in captured["headers"]
                if k.decode("latin-1").lower() in REPLAYED_HEADERS
            }
            stored = {
                "status_code": captured["status"],
                "response_headers": kept,
                "response_body": _redacted(captured["status"], bytes(captured["body"])),
            }
            async with db.transaction() as session:
                if captured["status"] >= 500 or _retryable(captured["status"], bytes(captured["body"])):
                    # Nothing committed (a failure, or an answer a retry may change): forget the key
                    # so that the client may retry. Something committed: keep the answer — a retry
                    # must not apply it twice.
                    await session.execute(sa.delete(table).where(where, table.c.status_code.is_(None)))
                    await session.execute(
                        sa.update(table).where(where, table.c.status_code == COMMITTED).values(**stored)
                    )
                else:
                    await session.execute(sa.update(table).where(where).values(**stored))

    async def _answer_existing(self, row: Any, digest: str, scope: Scope, receive: Receive, send: Send) -> None:
        if row["body_sha256"] != digest:
            response = problem(
                422,
                code=ErrorCode.IDEMPOTENCY_KEY_REUSED,
                detail=text(
                    "该 Idempotency-Key 已用于另一个不同的请求", "This Idempotency-Key was used for a different request"
                ),
                instance=scope["path"],
            )
        elif row["status_code"] == COMMITTED and utcnow() - as_utc(row["created_at"]) > STALE_AFTER:
            response = problem(
                409,
                code=ErrorCode.IDEMPOTENCY_RESPONSE_LOST,
                detail=text(
                    "该请求已执行，但其响应在故障中丢失；请查询结果",
                    "The request was applied, but its response was lost in a crash; look the result up",
                ),
                instance=scope["path"],
            )
        elif row["status_code"] is None or row["status_code"] == COMMITTED:
            response = problem(
                409,
                code=ErrorCode.IDEMPOTENCY_IN_PROGRESS,
                detail=text(
                    "使用该 Idempotency-Key 的请求仍在处理中",
                    "A request with this Idempotency-Key is still in progress",
                ),
                instance=scope["path"],
                headers={"Retry-After": "1"},
            )
        else:
            headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in (row["response_headers"] or {}).items()]
            headers.append((b"idempotent-replayed", b"true"))
            await send({"type": "http.response.start", "status": row["status_code"], "headers": headers})
            await send({"type": "http.response.body", "body": row["response_body"] or b""})
            return
        await response(scope, receive, send)


def _retryable(status: int, body: bytes) -> bool:
    if status == 429:
        return True
    if not 400 <= status < 500 or not body.startswith(b"{"):
        return False
    try:
        code = orjson.loads(body).get("code")
    except (orjson.JSONDecodeError, AttributeError):
        return False
    return code in RETRYABLE_CODES


def _redacted(status: int, body: bytes) -> bytes:
    """A stored answer never keeps a secret shown once (a client secret, a webhook secret, an
    invitation code, a token): its replay says it was redacted — the first response was the only
    copy, as its documentation says."""
    if not 200 <= status < 300 or not body.startswith(b"{"):
        return body
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body
    if not isinstance(document, dict) or not SECRET_FIELDS & document.keys():
        return body
    return orjson.dumps({k: (REDACTED if k in SECRET_FIELDS else v) for k, v in document.items()})


async def _buffer(receive: Receive) -> tuple[bytes | None, Receive]:
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        chunks.append(chunk)
        more = message.get("more_body", False)
        if size > MAX_BODY:
            break
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": more}
        return await receive()

    return (None if size > MAX_BODY else body), replay


async def _caller(scope: Scope, verifier: TokenVerifier) -> str:
    headers = dict(scope.get("headers") or [])
    auth = headers.get(b"authorization", b"").decode("latin-1")
    if not auth.lower().startswith("bearer "):
        # Anonymous callers are told apart by address (the gateway sets X-Forwarded-For), so
        # one cannot replay another's response by guessing a key and a body.
        forwarded = headers.get(b"x-forwarded-for", b"").decode("latin-1").split(",")[0].strip()
        client = scope.get("client") or ("?", 0)
        return f"anonymous:{forwarded or client[0]}"[:100]
    try:
        principal = await verifier.verify(auth[7:].strip())
    except DomainError:
        return "invalid-token"  # the route will answer 401; nothing gets stored under a real caller
    return f"sub:{principal.subject}"
