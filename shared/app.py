"""The app factory every service uses: database + migrations, bus + outbox relay + inbox
subscriber, auth, errors, request context, metrics, health, and the admin endpoints every service
has (dead letters, sweeps, audit-trail verification).

A service declares itself in its ``main.py`` as one ``ServiceSpec``: its name, metadata, routers,
consumers and sweeps. ``create_service_app`` builds the ``Runtime`` — every long-lived part of the
process, built once, never mutated — and the app around it. Use cases get a ``UnitOfWork`` from the
``UoW`` dependency (requests), the inbox (events) or the sweeper (sweeps).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Annotated, Any

import sqlalchemy as sa
import structlog
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from shared import audit_trail, migrations, tracing
from shared import openapi as openapi_doc
from shared.auth import AdminPrincipal, Principal, TokenVerifier, principal_from_request
from shared.clock import Clock
from shared.db import Database
from shared.errors import FieldError, NotFound, ValidationFailed, install_error_handlers
from shared.events import metrics as bus_metrics
from shared.events.bus import Bus
from shared.events.inbox import Consumers, Subscriber
from shared.events.outbox import Outbox, OutboxRelay
from shared.http import ContentTypeMiddleware, QueryTextMiddleware, RequestContextMiddleware
from shared.i18n import text
from shared.idempotency import IdempotencyMiddleware, reservation_of
from shared.logging import configure_logging
from shared.pagination import DEFAULT_LIMIT, MAX_LIMIT
from shared.policy import Policy, load_policy
from shared.policy_versions import VERSIONS_TABLE, PolicyBook, policy_as_of, policy_moment
from shared.purge import purge
from shared.settings import Settings
from shared.tables import InfraTables, infrastructure_tables
from shared.uow import UnitOfWork

log = structlog.get_logger("shared.app")

Sweep = Callable[["Runtime", datetime], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class ServiceSpec:
    """What a service is, declared once in its ``main.py``."""

    name: str
    metadata: sa.MetaData
    routers: Sequence[APIRouter]
    consumers: Consumers = field(default_factory=Consumers)
    sweeps: Sequence[Sweep] = ()
    non_json_paths: tuple[str, ...] = ()
    description: str = ""
    migrate: bool = True  # False only for throwaway test services: create_all instead of Alembic


@dataclass(frozen=True)
class Runtime:
    """The long-lived parts of one service process, built once by ``create_service_app``."""

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
    policies: PolicyBook  # every version received (shared.policy_versions)
    sweeps: Sequence[Sweep] = ()

    @property
    def policy(self) -> Policy:
        """The version in force at the clock's now (a sweep's ``as_of`` while it runs)."""
        return self.policies.in_force(policy_moment(self.clock.now())).policy

    async def load_policies(self) -> None:
        """The versions this service's table holds, into the book (its table is declared in its models)."""
        table: sa.Table | None = self.infra.outbox.metadata.info.get(VERSIONS_TABLE)
        if table is not None:
            async with self.db.reader() as session:
                await self.policies.load(session, table)

    def unit_of_work(
        self, principal: Principal | None = None, *, request_id: str | None = None, before_commit: Sequence[Any] = ()
    ) -> UnitOfWork:
        return UnitOfWork(
            self, principal=principal or Principal.system(self.name), request_id=request_id, before_commit=before_commit
        )

    async def sweep(self, as_of: datetime) -> dict[str, Any]:
        """Run every sweep of the service as of ``as_of``; their counts merged."""
        result: dict[str, Any] = {}
        await self.load_policies()  # a version another replica received (one durable consumer per service)
        with policy_as_of(as_of):
            for sweep in self.sweeps:
                result.update(await sweep(self, as_of))
        # retention is real time, not the sweep's as_of (a sweep run "as of next year" in a test or
        # a catch-up must not forget this week's inbox ids)
        result.update(await purge(self.db, self.infra, self.settings, self.clock.now()))
        return result


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def unit_of_work(request: Request) -> UnitOfWork:
    """One unit of work per request, acting for the caller (anonymous without a token). Its
    commit also marks the request's Idempotency-Key, if it has one (shared.idempotency). Who may
    call the route at all is the route's own principal dependency (``CurrentPrincipal``,
    ``PendingOrgPrincipal``, ``MaybePrincipal``): this one only names the caller."""
    principal = await principal_from_request(request)
    reservation = reservation_of(request.scope)
    return get_runtime(request).unit_of_work(
        principal or Principal.anonymous(),
        request_id=getattr(request.state, "request_id", None),
        before_commit=[reservation.mark_committed] if reservation is not None else (),
    )


openapi_doc.reads_token_optionally(unit_of_work)  # a bad token is a 401, a missing scope a 403


async def runtime_dependency(request: Request) -> Runtime:
    """``get_runtime`` as a dependency: async, so FastAPI calls it on the loop, not a worker thread."""
    return get_runtime(request)


RuntimeDep = Annotated[Runtime, Depends(runtime_dependency)]
ServiceParam = Annotated[str | None, Query(max_length=40, description="服务名（经网关时用于路由） / the service")]
UoW = Annotated[UnitOfWork, Depends(unit_of_work)]


def create_service_app(
    spec: ServiceSpec,
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    verifier: TokenVerifier | None = None,
) -> FastAPI:
    settings = settings or Settings()
    clock = clock or Clock()
    verifier = verifier or TokenVerifier(
        issuer=settings.issuer_url,
        audience=settings.audience,
        jwks_url=settings.jwks_location,
        refresh_seconds=settings.jwks_refresh_seconds,
    )
    infra = infrastructure_tables(spec.metadata)
    db = Database(
        settings.database_url_for(spec.name),
        service=spec.name,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )
    bus = Bus(settings, name=spec.name)
    relay = OutboxRelay(db, infra.outbox, bus, poll_seconds=settings.relay_poll_seconds)
    subscriber = Subscriber(
        db=db,
        infra=infra,
        bus=bus,
        service=spec.name,
        consumers=spec.consumers,
        max_deliver=settings.max_deliver,
        ack_wait=settings.inbox_ack_wait_seconds,
    )
    runtime = Runtime(
        name=spec.name,
        settings=settings,
        db=db,
        infra=infra,
        bus=bus,
        outbox=Outbox(infra.outbox, clock),
        relay=relay,
        subscriber=subscriber,
        clock=clock,
        verifier=verifier,
        policies=PolicyBook(load_policy(settings)),
        sweeps=spec.sweeps,
    )
    subscriber.runtime = runtime  # the inbox opens its units of work on the runtime it belongs to

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(spec.name, fmt=settings.log_format, level=settings.log_level)
        if tracing.configure_tracing(spec.name, settings):
            for engine in db.engines:
                tracing.instrument_engine(engine)
        if spec.migrate:
            await migrations.prepare(db, spec.name, from_template=settings.schema_templates)
        else:
            await db.ensure_database()
            async with db.engine.begin() as conn:
                await conn.run_sync(spec.metadata.create_all)
        await runtime.load_policies()
        bus.start()
        await verifier.start(bus)  # revocations and key events from the bus (shared.revocations)
        relay.start()
        subscriber.start()
        sweeper = asyncio.create_task(_sweep_periodically(runtime)) if settings.sweep_interval_seconds > 0 else None
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
            tracing.shutdown()

    app = FastAPI(
        title=f"custody-{spec.name}",
        description=spec.description,
        version="1.0.0",
        lifespan=lifespan,
        telemetry=tracing.FASTAPI_TELEMETRY,
        generate_unique_id_function=openapi_doc.operation_id_function(spec.name),
    )
    openapi_doc.install(app, issuer=settings.issuer_url)
    app.state.runtime = runtime
    app.state.verifier = verifier
    install_error_handlers(app)
    app.add_middleware(IdempotencyMiddleware, db=db, table=infra.idempotency, verifier=verifier)
    app.add_middleware(ContentTypeMiddleware, non_json_paths=spec.non_json_paths)
    app.add_middleware(QueryTextMiddleware)
    app.add_middleware(RequestContextMiddleware, service=spec.name)
    app.include_router(operational_router(spec, has_sweeps=bool(runtime.sweeps)))
    for router in spec.routers:
        app.include_router(router)
    return app


async def _sweep_periodically(runtime: Runtime) -> None:
    while True:
        await asyncio.sleep(runtime.settings.sweep_interval_seconds)
        try:
            result = await runtime.sweep(runtime.clock.now())
            log.info("sweep.done", **{k: v for k, v in result.items() if isinstance(v, (int, str))})
        except Exception as exc:  # the next round tries again
            log.warning("sweep.failed", error=str(exc))


def parse_as_of(value: str | None, clock: Clock) -> datetime:
    """``as_of`` of the sweep endpoint: an ISO date (its start, UTC) or an RFC 3339 datetime."""
    if value is None:
        return clock.now()
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time.min, tzinfo=UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed(
            text("as_of 须为 ISO 日期或 RFC 3339 时间", "as_of must be an ISO date or an RFC 3339 datetime"),
            errors=[FieldError("as_of", text("格式无效", "invalid format"))],
        ) from None
    if parsed.tzinfo is None:
        raise ValidationFailed(
            text("as_of 时间须带时区", "an as_of datetime needs a time zone"),
            errors=[FieldError("as_of", text("缺少时区", "no time zone"))],
        )
    return parsed.astimezone(UTC)


NOT_READY: dict[int | str, dict[str, Any]] = {
    503: {
        "description": "未就绪 / not ready (the same body, with the failing check false)",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


def operational_router(spec: ServiceSpec, *, has_sweeps: bool) -> APIRouter:
    router = APIRouter()

    @router.get("/healthz", tags=["ops"], summary="存活检查 / liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": spec.name}

    @router.get(
        "/readyz",
        tags=["ops"],
        summary="就绪检查（数据库与消息总线）/ readiness",
        responses=NOT_READY,
    )
    async def readyz(runtime: RuntimeDep) -> Response:
        db_ok = await runtime.db.ping()
        bus_ok = runtime.bus.connected
        body = {
            "status": "ready" if db_ok and bus_ok else "not-ready",
            "service": spec.name,
            "checks": {"database": db_ok, "bus": bus_ok},
            "policy_version": runtime.policies.in_force(runtime.clock.now()).version,
        }
        return JSONResponse(body, status_code=200 if db_ok and bus_ok else 503)

    @router.get("/metrics", tags=["ops"], include_in_schema=False)
    async def metrics(runtime: RuntimeDep) -> Response:
        subscriber = runtime.subscriber
        await bus_metrics.sample(
            service=spec.name,
            db=runtime.db,
            infra=runtime.infra,
            bus=runtime.bus,
            durables=subscriber.durable_names,
        )
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @router.get("/api/v1/admin/dlq", tags=["admin"], summary="死信列表 / dead letters")
    async def list_dead_letters(
        runtime: RuntimeDep, _: AdminPrincipal, include_replayed: bool = False
    ) -> dict[str, Any]:
        rows = await runtime.subscriber.list_dead_letters(include_replayed=include_replayed)
        return {"service": spec.name, "items": [_jsonable(r) for r in rows]}

    @router.post("/api/v1/admin/dlq/{dead_letter_id}/replay", tags=["admin"], summary="重放死信 / replay a dead letter")
    async def replay_dead_letter(dead_letter_id: uuid.UUID, runtime: RuntimeDep, _: AdminPrincipal) -> dict[str, Any]:
        row = await runtime.subscriber.replay(dead_letter_id)
        if row is None:
            raise NotFound(text("死信不存在", "No such dead letter"))
        return _jsonable(row)

    trail_heads: sa.Table | None = spec.metadata.info.get(audit_trail.HEADS_TABLE)

    def this_service(service: str | None) -> None:
        if service is not None and service != spec.name:
            raise ValidationFailed(
                text(f"本服务为 {spec.name}", f"This is the {spec.name} service"),
                errors=[FieldError("service", text("服务名不匹配", "wrong service"))],
            )

    @router.get("/api/v1/admin/audit-trail/verify", tags=["admin"], summary="校验审计链 / verify the audit trail")
    async def verify_audit_trail(
        request: Request, runtime: RuntimeDep, _: AdminPrincipal, service: ServiceParam = None
    ) -> dict[str, Any]:
        """Every link, and completeness: the chain must reach the head its witness holds."""
        this_service(service)
        witnessed = await audit_trail.ask_witness(
            runtime.settings, spec.name, authorization=request.headers.get("authorization")
        )
        async with runtime.db.reader() as session:
            result = await audit_trail.verify(session, runtime.infra.audit_trail, witnessed)
        return {"service": spec.name, **result}

    @router.get("/api/v1/admin/audit-trail", tags=["admin"], summary="读取审计链 / read the audit trail")
    async def read_audit_trail(
        runtime: RuntimeDep,
        _: AdminPrincipal,
        service: ServiceParam = None,
        from_seq: Annotated[int, Query(alias="from", ge=0, le=2**62, description="起始序号（含） / first seq")] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="每页条数 / page size (1–200)")] = DEFAULT_LIMIT,
    ) -> dict[str, Any]:
        """The trail's rows from ``from`` (a seq) on, in order; ``next_from`` is the next page's ``from``."""
        this_service(service)
        async with runtime.db.reader() as session:
            page = await audit_trail.read(session, runtime.infra.audit_trail, from_seq=from_seq, limit=limit)
        return {"service": spec.name, **page}

    if trail_heads is not None:
        heads = trail_heads

        @router.get(
            audit_trail.HEADS_PATH,
            tags=["admin"],
            summary="见证的审计链头 / the audit-trail heads this service witnesses",
        )
        async def witnessed_heads(
            runtime: RuntimeDep, _: AdminPrincipal, service: ServiceParam = None
        ) -> dict[str, Any]:
            """The latest head of each trail this service witnesses (docs/DECISIONS.md D32)."""
            this_service(service)
            async with runtime.db.reader() as session:
                items = await audit_trail.witnessed_heads(session, heads)
            return {"service": spec.name, "witnesses": list(audit_trail.witnessed_by(spec.name)), "heads": items}

    if has_sweeps:

        @router.post("/api/v1/admin/sweep", tags=["admin"], summary="按时间执行定时任务 / run time-based transitions")
        async def sweep(
            runtime: RuntimeDep,
            _: AdminPrincipal,
            as_of: Annotated[str | None, Query(max_length=40, description="ISO 日期或 RFC 3339 时间；默认现在")] = None,
            service: Annotated[str | None, Query(max_length=40)] = None,
        ) -> dict[str, Any]:
            this_service(service)
            moment = parse_as_of(as_of, runtime.clock)
            date_only = as_of is None or len(as_of) == 10
            future = moment.date() > runtime.clock.today() if date_only else moment > runtime.clock.now()
            if future and runtime.settings.is_production:
                raise ValidationFailed(
                    text("生产环境不允许指定未来时间", "A future as_of is refused in production"),
                    errors=[FieldError("as_of", text("不能晚于现在", "must not be in the future"))],
                )
            result = await runtime.sweep(moment)
            shown = moment.date().isoformat() if date_only else moment.isoformat()
            return {"service": spec.name, "as_of": shown, **result}

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
