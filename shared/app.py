"""The app factory every service uses: database + migrations, bus + outbox relay + inbox
subscriber, auth, errors, request context, metrics, health, and the admin endpoints every service
has (dead letters, sweeps, audit-trail verification).

A service supplies a ``ServiceSpec``: its name, metadata, routers, event handlers and sweep.
"""

from __future__ import annotations

import asyncio
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any, AsyncIterator, Awaitable, Callable

import sqlalchemy as sa
import structlog
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from shared import migrations
from shared.audit_trail import verify as verify_trail
from shared.auth import AdminPrincipal, TokenVerifier
from shared.clock import Clock
from shared.db import Database
from shared.errors import FieldError, NotFound, ValidationFailed, install_error_handlers
from shared.events.bus import Bus
from shared.events.inbox import Handler, Subscriber
from shared.events.outbox import Outbox, OutboxRelay
from shared.http import ContentTypeMiddleware, RequestContextMiddleware
from shared.i18n import text
from shared.idempotency import IdempotencyMiddleware
from shared.logging import configure_logging
from shared.policy import Policy, load_policy
from shared.settings import Settings
from shared.tables import InfraTables, infrastructure_tables

log = structlog.get_logger("shared.app")

SweepFn = Callable[["ServiceContext", date], Awaitable[dict[str, Any]]]


@dataclass
class ServiceSpec:
    name: str
    metadata: sa.MetaData
    routers: list[APIRouter]
    handlers: dict[str, Handler] = field(default_factory=dict)
    sweep: SweepFn | None = None
    non_json_paths: tuple[str, ...] = ()
    description: str = ""
    migrate: bool = True  # False only for throwaway test services: create_all instead of Alembic


@dataclass
class ServiceContext:
    """What a request handler may reach: one per running app, at ``app.state.ctx``."""

    name: str
    settings: Settings
    db: Database
    infra: InfraTables
    bus: Bus
    outbox: Outbox
    relay: OutboxRelay
    subscriber: Subscriber
    clock: Clock
    verifier: TokenVerifier
    policy: Policy
    extras: dict[str, Any] = field(default_factory=dict)


def get_context(request: Request) -> ServiceContext:
    return request.app.state.ctx


Ctx = Annotated[ServiceContext, Depends(get_context)]


def create_service_app(spec: ServiceSpec, settings: Settings, *, clock: Clock | None = None,
                       verifier: TokenVerifier | None = None) -> FastAPI:
    clock = clock or Clock()
    verifier = verifier or TokenVerifier(issuer=settings.issuer_url, audience=settings.audience,
                                         jwks_url=settings.jwks_location, refresh_seconds=settings.jwks_refresh_seconds)
    infra = infrastructure_tables(spec.metadata)
    db = Database(settings.database_url_for(spec.name), service=spec.name)
    bus = Bus(settings, name=spec.name)
    relay = OutboxRelay(db, infra.outbox, bus, poll_seconds=settings.relay_poll_seconds)
    subscriber = Subscriber(db=db, infra=infra, bus=bus, service=spec.name, handlers=spec.handlers,
                            max_deliver=settings.max_deliver)
    ctx = ServiceContext(name=spec.name, settings=settings, db=db, infra=infra, bus=bus, outbox=Outbox(infra.outbox, clock),
                         relay=relay, subscriber=subscriber, clock=clock, verifier=verifier, policy=load_policy(settings))
    ctx.outbox.relay = relay  # the fast path: committed events go straight to the relay

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(spec.name, fmt=settings.log_format, level=settings.log_level)
        await db.ensure_database()
        if spec.migrate:
            await migrations.upgrade(db, spec.name)
        else:
            async with db.engine.begin() as conn:
                await conn.run_sync(spec.metadata.create_all)
        bus.start()
        await verifier.start(bus)  # revocations and key events from the bus (shared.revocations)
        relay.start()
        subscriber.start()
        sweeper = asyncio.create_task(_sweep_periodically(ctx, spec)) if spec.sweep and settings.sweep_interval_seconds > 0 else None
        log.info("service.started", service=spec.name, database=db.url.split("@")[-1])
        try:
            yield
        finally:
            if sweeper:
                sweeper.cancel()
            await subscriber.stop()
            await verifier.stop()
            await relay.stop()
            await bus.close()
            await db.dispose()

    app = FastAPI(title=f"custody-{spec.name}", description=spec.description, version="1.0.0", lifespan=lifespan)
    app.state.ctx = ctx
    app.state.verifier = verifier
    install_error_handlers(app)
    app.add_middleware(IdempotencyMiddleware)
    app.add_middleware(ContentTypeMiddleware, non_json_paths=spec.non_json_paths)
    app.add_middleware(RequestContextMiddleware, service=spec.name)
    app.include_router(operational_router(spec))
    for router in spec.routers:
        app.include_router(router)
    return app


async def _sweep_periodically(ctx: ServiceContext, spec: ServiceSpec) -> None:
    assert spec.sweep is not None
    while True:
        await asyncio.sleep(ctx.settings.sweep_interval_seconds)
        try:
            result = await spec.sweep(ctx, ctx.clock.today())
            log.info("sweep.done", **{k: v for k, v in result.items() if isinstance(v, (int, str))})
        except Exception as exc:  # noqa: BLE001 - the next round tries again
            log.warning("sweep.failed", error=str(exc))


def operational_router(spec: ServiceSpec) -> APIRouter:
    router = APIRouter()

    @router.get("/healthz", tags=["ops"], summary="存活检查 / liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": spec.name}

    @router.get("/readyz", tags=["ops"], summary="就绪检查（数据库与消息总线）/ readiness")
    async def readyz(ctx: Ctx) -> Response:
        db_ok = await ctx.db.ping()
        bus_ok = ctx.bus.connected
        body = {"status": "ready" if db_ok and bus_ok else "not-ready", "service": spec.name,
                "checks": {"database": db_ok, "bus": bus_ok}}
        return JSONResponse(body, status_code=200 if db_ok and bus_ok else 503)

    @router.get("/metrics", tags=["ops"], include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @router.get("/api/v1/admin/dlq", tags=["admin"], summary="死信列表 / dead letters")
    async def list_dead_letters(ctx: Ctx, _: AdminPrincipal, include_replayed: bool = False) -> dict[str, Any]:
        rows = await ctx.subscriber.list_dead_letters(include_replayed=include_replayed)
        return {"service": spec.name, "items": [_jsonable(r) for r in rows]}

    @router.post("/api/v1/admin/dlq/{dead_letter_id}/replay", tags=["admin"], summary="重放死信 / replay a dead letter")
    async def replay_dead_letter(dead_letter_id: uuid.UUID, ctx: Ctx, _: AdminPrincipal) -> dict[str, Any]:
        row = await ctx.subscriber.replay(dead_letter_id)
        if row is None:
            raise NotFound(text("死信不存在", "No such dead letter"))
        return _jsonable(row)

    @router.get("/api/v1/admin/audit-trail/verify", tags=["admin"], summary="校验审计链 / verify the audit trail")
    async def verify_audit_trail(ctx: Ctx, _: AdminPrincipal) -> dict[str, Any]:
        async with ctx.db.reader() as session:
            result = await verify_trail(session, ctx.infra.audit_trail)
        return {"service": spec.name, **result}

    if spec.sweep is not None:
        @router.post("/api/v1/admin/sweep", tags=["admin"], summary="按日期执行定时任务 / run time-based transitions")
        async def sweep(ctx: Ctx, _: AdminPrincipal,
                        as_of: Annotated[date | None, Query(description="ISO 日期；默认今天")] = None,
                        service: Annotated[str | None, Query(max_length=40)] = None) -> dict[str, Any]:
            if service is not None and service != spec.name:
                raise ValidationFailed(text(f"本服务为 {spec.name}", f"This is the {spec.name} service"),
                                       errors=[FieldError("service", text("服务名不匹配", "wrong service"))])
            today = ctx.clock.today()
            day = as_of or today
            if day > today and ctx.settings.is_production:
                raise ValidationFailed(text("生产环境不允许指定未来日期", "A future as_of is refused in production"),
                                       errors=[FieldError("as_of", text("不能晚于今天", "must not be in the future"))])
            result = await spec.sweep(ctx, day)
            return {"service": spec.name, "as_of": day.isoformat(), **result}

    return router


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in row.items():
        if isinstance(value, uuid.UUID):
            value = str(value)
        elif hasattr(value, "isoformat"):
            value = value.isoformat()
        out[key] = value
    return out
