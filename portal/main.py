"""The work portal (SPEC §12, §21): people's pages, its own process (``uvicorn portal.main:create_app
--factory``, port ``CUSTODY_PORTAL_PORT``, default 8006), reached through the gateway, which routes
``/``, ``/policy``, ``/docs``, ``/asyncapi*`` and ``/portal/*`` here (docs/DECISIONS.md D22).

A client of the public API like any other: it calls the gateway with the signed-in person's own
token (authorization code + PKCE) and keeps nothing but the session cookie. Server-rendered Jinja2
that works without JavaScript; a few lines of script (``static/portal.js``) and a service worker
(``static/sw.js``, the offline visit queue) improve it where a browser runs them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import structlog
from fastapi import FastAPI
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from portal import pages
from portal import session as sessions
from portal.api import ApiError, new_client
from portal.web import HERE, Exit, PortalState, answer_api_error, view_of
from shared import tracing
from shared.logging import configure_logging
from shared.settings import Settings

log = structlog.get_logger("portal")


class _NoSniff:
    """``X-Content-Type-Options: nosniff`` on everything, static files included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                if not any(k.lower() == b"x-content-type-options" for k, _ in headers):
                    headers.append((b"x-content-type-options", b"nosniff"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, sending)


def create_app(settings: Settings | None = None, *, transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    settings = settings or Settings()
    key = sessions.derive_key(settings.portal_session_secret, settings.admin_client_secret)
    state = PortalState(
        settings=settings, sealer=sessions.Sealer(key), client=new_client(settings.url_of("gateway"), transport)
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging("portal", fmt=settings.log_format, level=settings.log_level)
        log.info("portal.started", gateway=settings.url_of("gateway"))
        try:
            yield
        finally:
            await state.client.aclose()

    app = FastAPI(
        title="custody-portal",
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        telemetry=tracing.FASTAPI_TELEMETRY,
    )
    app.state.portal = state

    @app.exception_handler(Exit)
    async def _exit(request: Request, exc: Exit) -> Response:
        return exc.response

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        return await answer_api_error(request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        v = await view_of(request)
        if exc.status_code == 404:
            return v.error(404, v.t("not_found"))
        if exc.status_code == 405:
            return v.error(405, v.t("bad_request"))
        return v.error(exc.status_code, v.t("bad_request"))

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> Response:
        log.exception("portal.unhandled_error", path=request.url.path)
        try:
            v = await view_of(request)
            return v.error(500, v.t("internal_error"))
        except Exception:
            return Response("服务器内部错误 / internal error", status_code=500, media_type="text/plain; charset=utf-8")

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": "portal"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> Response:
        # The portal holds no state of its own: ready when it runs. Whether the gateway answers
        # is the gateway's readiness (each page says so when it does not).
        return JSONResponse({"status": "ready", "service": "portal", "checks": {"templates": True}})

    app.mount("/portal/static", StaticFiles(directory=HERE / "static"), name="static")
    for router in pages.ROUTERS:
        app.include_router(router)
    app.add_middleware(_NoSniff)
    return app
