"""The gateway: OAuth2 authorization server, accounts, reverse proxy and merged OpenAPI
(`uvicorn gateway.main:create_app --factory`).

Not a ``ServiceSpec`` service, but built from the same shared parts: settings, database + Alembic
migrations, the bus with an outbox and its relay (the gateway emits ``organisation.*``,
``account.*``, ``token.revoked`` and ``key.*``: gateway/events.py), a durable inbox consumer
(``agency.approved`` verifies the agency's organisation), the ephemeral revocation feed every
process has (shared.revocations), problem+json errors, structlog, ``RequestContextMiddleware``
(request ids, language, metrics) and ``shared.auth`` for its own API.

One ``Runtime`` (shared.app) holds the process's parts like a service's: every write that emits an
event runs on one of its units of work (shared/uow.py) — a request's through the ``UoW`` dependency
(``app.state.runtime``), the inbox's, the OAuth store's and the key store's through
``runtime.unit_of_work()``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway import account_routes, admin, consumers, organisations
from gateway.accounts import Passwords, announce_existing, bootstrap, check_production
from gateway.context import GatewayContext
from gateway.models import infra
from gateway.oauth import endpoints as oauth_endpoints
from gateway.oauth.grants import OAuthStore
from gateway.oauth.keys import KeyStore
from gateway.oauth.server import AuthorizationServer
from gateway.openapi import MergedOpenAPI
from gateway.portal_client import ensure_portal_client
from gateway.proxy import ProxyMiddleware, RouteError, new_session, route_for
from gateway.ratelimit import AuthLimiter, SignUpLimiter, TokenBuckets
from shared import migrations, tracing
from shared import openapi as openapi_doc
from shared.app import NOT_READY, Runtime
from shared.auth import Principal, TokenVerifier
from shared.clock import Clock
from shared.db import Database
from shared.errors import ErrorCode, install_error_handlers
from shared.events import metrics as bus_metrics
from shared.events.bus import Bus
from shared.events.inbox import Subscriber
from shared.events.outbox import Outbox, OutboxRelay
from shared.http import ContentTypeMiddleware, RequestContextMiddleware
from shared.i18n import text
from shared.idempotency import IdempotencyMiddleware
from shared.logging import configure_logging
from shared.policy import load_policy
from shared.policy_versions import PolicyBook
from shared.purge import purge
from shared.settings import Settings

log = structlog.get_logger("gateway")
REFRESH_SECONDS = 5.0
PURGE_EVERY = 120  # refresh rounds (10 minutes)


class GatewayApp(FastAPI):
    """FastAPI for the gateway's own routes; proxied requests take a short path around FastAPI's
    middleware stack (measured: that stack cost a fifth of the gateway's CPU per proxied request)
    through ``RequestContextMiddleware`` (request id, language, metrics) straight to the proxy."""

    fast_path: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.fast_path is not None and scope["type"] == "http":
            try:
                proxied = route_for(scope["path"], scope.get("query_string", b"")) is not None
            except RouteError:
                proxied = False  # the full stack renders the 422
            if proxied:
                await self._proxy(scope, receive, send)
                return
        await super().__call__(scope, receive, send)

    async def _proxy(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.fast_path(scope, receive, tracking_send)
        except Exception:
            log.exception("gateway.proxy.unhandled_error", path=scope.get("path"))
            if not started:
                from shared.errors import problem

                await problem(
                    500,
                    code=ErrorCode.INTERNAL_ERROR,
                    detail=text(
                        "服务器内部错误，已记录，请联系运维并提供请求编号",
                        "Internal error; it was logged — quote the request id",
                    ),
                )(scope, receive, send)


class ApiIdempotency:
    """``Idempotency-Key`` (shared.idempotency) on the gateway's own ``/api/`` POSTs; the OAuth
    endpoints follow RFC 6749 instead, and proxied requests are the services' business."""

    def __init__(self, app: ASGIApp, *, db: Database, table: sa.Table, verifier: TokenVerifier) -> None:
        self.app = app
        self.idempotent = IdempotencyMiddleware(app, db=db, table=table, verifier=verifier)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            await self.idempotent(scope, receive, send)
        else:
            await self.app(scope, receive, send)


class GatewayVerifier(TokenVerifier):
    """``shared.auth`` verification against the gateway's own key store and its revocations (the
    database's, and the bus's: other replicas')."""

    def __init__(self, keys: KeyStore, store: OAuthStore, settings: Settings) -> None:
        super().__init__(issuer=settings.issuer_url, audience=settings.audience, revocations=store.revocations)
        self.keys = keys
        self.store = store

    async def verify(self, token: str) -> Principal:
        self._keys = self.keys.keyset
        self._kids = self.keys.kids
        return await super().verify(token)

    async def _on_key_event(self, event: Any) -> None:
        await self.keys.load()  # another replica rotated or revoked a key


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or Settings()
    check_production(settings)
    clock = clock or Clock()
    db = Database(
        settings.database_url_for("gateway"),
        service="gateway",
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )
    bus = Bus(settings, name="gateway")
    outbox = Outbox(infra.outbox, clock)
    relay = OutboxRelay(db, infra.outbox, bus, poll_seconds=settings.relay_poll_seconds)
    keys = KeyStore(db, settings, clock)
    store = OAuthStore(db=db, clock=clock, grace_seconds=settings.refresh_grace_seconds)
    subscriber = Subscriber(
        db=db,
        infra=infra,
        bus=bus,
        service="gateway",
        max_deliver=settings.max_deliver,
        ack_wait=settings.inbox_ack_wait_seconds,
        consumers=consumers.CONSUMERS,
    )
    verifier = GatewayVerifier(keys, store, settings)
    # The process's parts, as a service's: the units of work of requests, the inbox, the stores.
    runtime = Runtime(
        name="gateway",
        settings=settings,
        db=db,
        infra=infra,
        bus=bus,
        outbox=outbox,
        relay=relay,
        subscriber=subscriber,
        clock=clock,
        verifier=verifier,
        policies=PolicyBook(load_policy(settings)),
    )
    subscriber.runtime = keys.runtime = store.runtime = runtime
    gw = GatewayContext(
        settings=settings,
        db=db,
        clock=clock,
        infra=infra,
        keys=keys,
        store=store,
        server=AuthorizationServer(store=store, keys=keys, settings=settings, clock=clock),
        runtime=runtime,
        passwords=Passwords(settings),
        auth_limiter=AuthLimiter(limit=settings.auth_rate_limit, window_seconds=settings.auth_rate_window_seconds),
        signup_limiter=SignUpLimiter(
            limit=settings.signup_rate_limit, window_seconds=settings.signup_rate_window_seconds
        ),
        openapi=MergedOpenAPI(settings),
        bus=bus,
        subscriber=subscriber,
        verifier=verifier,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging("gateway", fmt=settings.log_format, level=settings.log_level)
        if tracing.configure_tracing("gateway", settings):
            for engine in db.engines:
                tracing.instrument_engine(engine)
        await migrations.prepare(db, "gateway", from_template=settings.schema_templates)
        await keys.start()
        await bootstrap(runtime)
        await announce_existing(runtime)  # accounts from before the gateway announced them: once
        await ensure_portal_client(db, settings, now=clock.now())  # the portal is its own process (D22)
        await store.load_revoked()
        bus.start()
        relay.start()
        await verifier.start(bus)  # other replicas' revocations and key events
        gw.subscriber.start()
        gw.http["session"] = new_session(settings)
        refresher = asyncio.create_task(_refresh_periodically(gw))
        log.info(
            "gateway.started",
            database=db.url.split("@")[-1],
            issuer=settings.issuer_url,
            active_kid=keys.active.kid if keys.active else None,
        )
        try:
            yield
        finally:
            refresher.cancel()
            await gw.subscriber.stop()
            await verifier.stop()
            await relay.stop()
            await bus.close()
            await gw.http.pop("session").close()
            gw.passwords.close()
            await db.dispose()
            tracing.shutdown()

    app = GatewayApp(
        title="custody-gateway",
        version="1.0.0",
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        description="OAuth2 authorization server, accounts and reverse proxy",
        telemetry=tracing.FASTAPI_TELEMETRY,
        generate_unique_id_function=openapi_doc.operation_id_function("gateway"),
    )
    app.state.gw = gw
    app.state.runtime = runtime  # what the UoW dependency (shared.app) reads
    app.state.verifier = verifier
    install_error_handlers(app)
    app.add_middleware(ApiIdempotency, db=db, table=infra.idempotency, verifier=verifier)
    app.add_middleware(ContentTypeMiddleware, non_json_paths=(r"^/oauth/",))
    limiter = TokenBuckets(capacity=settings.proxy_rate_burst, rate=settings.proxy_rate_per_second)
    proxy_options: dict[str, Any] = {
        "settings": settings,
        "session_factory": gw.session,
        "verify": verifier.verify,
        "limiter": limiter,
    }
    app.add_middleware(ProxyMiddleware, **proxy_options)  # own routes: 413s, the admin `service` 422
    app.add_middleware(RequestContextMiddleware, service="gateway")
    app.fast_path = RequestContextMiddleware(ProxyMiddleware(None, **proxy_options), service="gateway")
    # (the middleware-stack instance sees no proxied request while the fast path is set)
    _operational_routes(app, gw)
    app.include_router(oauth_endpoints.router)
    app.include_router(account_routes.router)
    app.include_router(admin.router)
    app.include_router(organisations.router)
    return app


def _operational_routes(app: FastAPI, gw: GatewayContext) -> None:
    @app.get("/healthz", tags=["ops"], summary="存活检查 / liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": "gateway"}

    @app.get("/readyz", tags=["ops"], summary="就绪检查 / readiness", responses=NOT_READY)
    async def readyz() -> Response:
        db_ok = await gw.db.ping()
        keys_ok = gw.keys.active is not None
        ready = db_ok and keys_ok  # OAuth works without the bus; its events wait in the outbox
        return JSONResponse(
            {
                "status": "ready" if ready else "not-ready",
                "service": "gateway",
                "checks": {"database": db_ok, "signing_key": keys_ok, "bus": gw.bus.connected},
            },
            status_code=200 if ready else 503,
        )

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        subscriber = gw.subscriber
        await bus_metrics.sample(
            service="gateway",
            db=gw.db,
            infra=gw.infra,
            bus=gw.bus,
            durables=subscriber.durable_names,
        )
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi(request: Request) -> dict[str, Any]:
        own = openapi_doc.document(app, issuer=gw.settings.issuer_url)
        return await gw.openapi.document(own)


async def _refresh_periodically(gw: GatewayContext) -> None:
    """Other replicas may rotate keys or revoke tokens: reload both every few seconds."""
    rounds = 0
    while True:
        await asyncio.sleep(REFRESH_SECONDS)
        rounds += 1
        try:
            await gw.keys.load()
            await gw.store.load_revoked()
            if rounds % PURGE_EVERY == 0:
                await gw.store.purge_expired()
                await purge(gw.db, gw.infra, gw.settings, gw.clock.now())
        except Exception as exc:
            log.warning("gateway.refresh_failed", error=str(exc))
