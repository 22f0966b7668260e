"""Each service's migrations build exactly its models (autogenerate finds nothing more) and
downgrade cleanly, on SQLite and PostgreSQL."""

from __future__ import annotations

import importlib

import pytest

from shared import migrations
from shared.db import Database
from shared.settings import SERVICES as PLATFORM_SERVICES

# every service of the platform (notify included) and the gateway: a new service is covered by being one
SERVICES = [*PLATFORM_SERVICES, "gateway"]


@pytest.mark.parametrize("service", SERVICES)
async def test_upgrade_matches_models_and_downgrades(backend, service):
    models = importlib.import_module(f"{migrations.package_of(service)}.models")
    settings = backend.settings()
    db = Database(settings.database_url_for(service), service=service)
    await db.ensure_database()
    try:
        await migrations.upgrade(db, service)
        assert await migrations.pending_changes(db, models.metadata) == []
        await migrations.upgrade(db, service)  # idempotent
        await migrations.downgrade(db, service, "base")
        await migrations.upgrade(db, service)
    finally:
        await db.dispose()
