"""One real platform for the portal's browser and CLI tests (every service and the gateway as
processes on SQLite + the embedded NATS), started once for the package, and the small demo data
set seeded through the public API exactly as ``custody demo --small`` does; and, for the in-process
page tests, the fake gateway (``fake``, which a test file may override) and a client of the portal
app bound to it (``client``)."""

from __future__ import annotations

import httpx
import pytest

from cli.demo import seed
from devtools.testing.platform import ADMIN_ID, ADMIN_SECRET, Platform, started_platform
from tests.conftest import Backend
from tests.portal.fakes import FakePlatform

BASE = "http://127.0.0.1:18000"  # the portal as the fake gateway knows it


@pytest.fixture(scope="package")
async def platform(tmp_path_factory: pytest.TempPathFactory, embedded_nats):
    tmp = tmp_path_factory.mktemp("portal-platform")
    backend = Backend("sqlite", tmp, embedded_nats.url)
    # Login rate limits are tested in tests/gateway; here many logins come from one address.
    async with started_platform(backend.settings(auth_rate_limit=100_000), tmp / "logs") as running:
        yield running
    await backend.cleanup()


@pytest.fixture(scope="package")
async def demo(platform: Platform):
    return await seed(platform.url, admin_id=ADMIN_ID, admin_secret=ADMIN_SECRET, small=True)


@pytest.fixture
def fake() -> FakePlatform:
    return FakePlatform()


@pytest.fixture
async def client(fake: FakePlatform):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app()), base_url=BASE) as c:
        yield c
