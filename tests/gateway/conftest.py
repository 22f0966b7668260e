"""Gateway fixtures: the gateway app in process (lifespan + httpx ASGI client) on both backends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from gateway.main import create_app
from tests.gateway.helpers import ADMIN_ID, ADMIN_SECRET


def gateway_settings(backend, **overrides: Any):
    values: dict[str, Any] = {
        "admin_client_id": ADMIN_ID,
        "admin_client_secret": ADMIN_SECRET,
        "auth_rate_limit": 1000,
        "proxy_rate_burst": 10_000,
        "proxy_rate_per_second": 10_000,
        "signup_rate_limit": 10_000,
    }
    values.update(overrides)
    return backend.settings(**values)


@asynccontextmanager
async def running_gateway(settings, clock=None) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=("10.1.2.3", 5555))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


@pytest.fixture
async def gateway(backend):
    async with running_gateway(gateway_settings(backend)) as client:
        yield client


@pytest.fixture
async def sqlite_gateway(sqlite_backend):
    async with running_gateway(gateway_settings(sqlite_backend)) as client:
        yield client
