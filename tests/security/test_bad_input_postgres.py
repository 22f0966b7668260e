"""The never-valid part of the bad-input corpus again, on PostgreSQL (slow): the database refuses
some inputs SQLite stores happily (a NUL in text, for one), so a value a service forgot to refuse
becomes a 500 there."""

from __future__ import annotations

import pytest

from devtools.testing.platform import Platform
from tests.conftest import SYSTEM_NATS, Backend
from tests.faults.helpers import record
from tests.security import test_bad_input as corpus
from tests.security.world import World, build_world

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
async def platform(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("security-postgres")
    backend = Backend("postgres", tmp, SYSTEM_NATS)
    running = Platform(
        backend.settings(auth_rate_limit=100_000, proxy_rate_burst=100_000, proxy_rate_per_second=100_000), tmp / "logs"
    )
    try:
        await running.start()
        yield running
    finally:
        await running.stop()
        await backend.cleanup()


@pytest.fixture(scope="module")
async def world(platform: Platform) -> World:
    return await build_world(platform)


@pytest.mark.parametrize("operation", corpus.FIELD_OPERATIONS)
async def test_never_valid_field_values_on_postgres(world, operation):
    before = dict(corpus.STATS)
    errors_before = len(corpus.SERVER_ERRORS)
    await corpus._field_corpus(world, operation, corpus.NEVER_VALID_VALUES, must_refuse=True)
    new_errors = corpus.SERVER_ERRORS[errors_before:]
    record(
        "bad-input-postgres",
        operation=operation,
        requests=corpus.STATS["requests"] - before.get("requests", 0),
        server_errors=len(new_errors),
    )
    assert not new_errors, "\n".join(new_errors)
