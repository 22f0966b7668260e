"""Notify's migrations build exactly its models and downgrade cleanly, on both backends (the same
check tests/shared/test_migrations.py makes for the other services)."""

from __future__ import annotations

from services.notify.models import metadata
from shared import migrations
from shared.db import Database


async def test_upgrade_matches_models_and_downgrades(backend):
    db = Database(backend.settings().database_url_for("notify"), service="notify")
    await db.ensure_database()
    try:
        await migrations.upgrade(db, "notify")
        assert await migrations.pending_changes(db, metadata) == []
        await migrations.upgrade(db, "notify")
        await migrations.downgrade(db, "notify", "base")
        await migrations.upgrade(db, "notify")
    finally:
        await db.dispose()
