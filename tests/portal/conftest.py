"""One real platform for the portal's browser and CLI tests (every service and the gateway as
processes on SQLite + the embedded NATS), started once for the package, and the small demo data
set seeded through the public API exactly as ``custody demo --small`` does."""

from __future__ import annotations

import pytest

import cli.supervisor as supervisor
from cli.demo import seed
from shared.testing.platform import ADMIN_ID, ADMIN_SECRET, Platform
from tests.conftest import Backend


@pytest.fixture(scope="package")
async def platform(tmp_path_factory: pytest.TempPathFactory, embedded_nats):
    # The gateway with the portal router (a no-op once gateway/main.py includes it itself).
    original = supervisor.APP_TARGETS["gateway"]
    supervisor.APP_TARGETS["gateway"] = "tests.portal.gateway_app:create_app"
    tmp = tmp_path_factory.mktemp("portal-platform")
    backend = Backend("sqlite", tmp, embedded_nats.url)
    running = Platform(backend.settings(), tmp / "logs")
    try:
        await running.start()
        yield running
    finally:
        supervisor.APP_TARGETS["gateway"] = original
        await running.stop()
        await backend.cleanup()


@pytest.fixture(scope="package")
async def demo(platform: Platform):
    return await seed(platform.url, admin_id=ADMIN_ID, admin_secret=ADMIN_SECRET, small=True)
