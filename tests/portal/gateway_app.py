"""The gateway with the portal included — for the browser tests until (and after) gateway/main.py
includes ``portal.router`` itself: the router is added only when the app does not serve it yet."""

from __future__ import annotations

from fastapi import FastAPI

from gateway import portal


def create_app() -> FastAPI:
    from gateway.main import create_app as gateway_app

    app = gateway_app()
    if not any(getattr(route, "path", None) == "/portal/dashboard" for route in app.routes):
        app.include_router(portal.router)
    return app
