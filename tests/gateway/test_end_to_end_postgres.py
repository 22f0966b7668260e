"""The same end-to-end checks through real processes with the gateway and the registry on
PostgreSQL (+ the machine's NATS): grants, refresh families, revocation, introspection, bad tokens
straight at the service, read-only clients. (The SQLite platform in test_end_to_end.py runs the
rest; the in-process tests cover both backends for everything the gateway stores.)"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.conftest import SYSTEM_NATS, Backend
from tests.gateway.processes import Processes
from tests.gateway.test_end_to_end import (  # noqa: F401 - collected here against the PostgreSQL platform
    test_a_revoked_signing_key_is_dropped_by_a_service_reached_directly,
    test_bad_tokens_get_401_at_the_service_even_straight,
    test_pkce_flow_with_login_form_and_refresh_end_to_end,
    test_read_only_client_gets_403_on_writes,
    test_revoked_token_is_refused_and_introspection_says_inactive,
)


@pytest.fixture(scope="module")
async def platform(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("gateway-e2e-pg")
    backend = Backend("postgres", workdir, SYSTEM_NATS)
    procs = Processes(
        backend.settings(
            auth_rate_limit=20, auth_rate_window_seconds=60, proxy_rate_burst=40, proxy_rate_per_second=10
        ),
        workdir,
        services=("registry",),
    )
    try:
        await asyncio.to_thread(procs.start)
        yield procs
    finally:
        await asyncio.to_thread(procs.stop)
        await backend.cleanup()


@pytest.fixture
async def gw(platform):
    async with httpx.AsyncClient(base_url=platform.url, timeout=10) as client:
        yield client
