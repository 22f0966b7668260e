"""One real platform (gateway + five services as processes, SQLite + the embedded NATS) and one
security world for the whole package: the authorization matrix, the bad-input corpus and the
schemathesis run all act on it through the gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from devtools.testing.platform import Platform, started_platform
from devtools.testing.wait import eventually
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
    """The merged document once every service answered: a service building its own document for the
    first time on a loaded machine can miss the gateway's 2 s fetch, and the gateway then lists it
    under ``x-unavailable`` for a few seconds (its intended degradation, gateway/openapi.py)."""

    async def complete() -> dict | None:
        r = await platform.client.get("/openapi.json")
        assert r.status_code == 200
        doc: dict = r.json()
        return None if "x-unavailable" in doc else doc

    return await eventually(complete, timeout=60, interval=1.0)
