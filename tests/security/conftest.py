"""One real platform (gateway + five services as processes, SQLite + the embedded NATS) and one
security world for the whole package: the authorization matrix, the bad-input corpus and the
schemathesis run all act on it through the gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from devtools.testing.platform import Platform, started_platform
from tests.conftest import Backend
from tests.security.world import World, build_world


@pytest.fixture(scope="package")
async def platform(tmp_path_factory: pytest.TempPathFactory, embedded_nats):
    tmp = tmp_path_factory.mktemp("security-platform")
    backend = Backend("sqlite", tmp, embedded_nats.url)
    # Rate limits are tested in tests/gateway; here they would only slow the matrix down.
    async with started_platform(
        backend.settings(auth_rate_limit=100_000, proxy_rate_burst=100_000, proxy_rate_per_second=100_000), tmp / "logs"
    ) as running:
        yield running
    await backend.cleanup()


@pytest.fixture(scope="package")
async def world(platform: Platform) -> AsyncIterator[World]:
    built = await build_world(platform)
    yield built
    built.close()


@pytest.fixture(scope="package")
async def openapi(platform: Platform) -> dict:
    r = await platform.client.get("/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert "x-unavailable" not in doc, doc.get("x-unavailable")
    return doc
