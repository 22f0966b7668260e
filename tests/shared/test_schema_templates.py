"""A database started from a schema template is what the migrations make: the same tables and
columns, at the same head, and a new migration file makes a new template (never a stale copy)."""

from __future__ import annotations

import importlib

import pytest
import sqlalchemy as sa

from shared import migrations, schema_templates
from shared.db import Database


def _schema(connection: sa.Connection) -> dict[str, list[tuple[str, str]]]:
    inspector = sa.inspect(connection)
    return {
        table: sorted((c["name"], str(c["type"])) for c in inspector.get_columns(table))
        for table in sorted(inspector.get_table_names())
    }


@pytest.mark.parametrize("service", ["audit", "gateway"])
async def test_a_copy_is_what_the_migrations_make(backend, service):
    settings = backend.settings()
    url = settings.database_url_for(service)
    at = url.rindex(service)  # the database's own name (the folder may name the service too)
    migrated = Database(url, service=service)
    copied = Database(f"{url[:at]}{service}_copy{url[at + len(service) :]}", service=service)
    try:
        await migrations.prepare(migrated, service)
        await migrations.prepare(copied, service, from_template=True)
        models = importlib.import_module(f"{migrations.package_of(service)}.models")
        assert await migrations.pending_changes(copied, models.metadata) == []
        async with migrated.engine.connect() as a, copied.engine.connect() as b:
            assert await a.run_sync(_schema) == await b.run_sync(_schema)
            table = migrations.version_table(service)
            head = (await a.execute(sa.text(f"SELECT version_num FROM {table}"))).scalars().all()
            assert (await b.execute(sa.text(f"SELECT version_num FROM {table}"))).scalars().all() == head
        # a database that exists already is left alone (its data stays)
        assert await schema_templates.start_from_template(copied, service) is False
    finally:
        await migrated.dispose()
        await copied.dispose()


def test_a_new_migration_file_is_a_new_template(tmp_path, monkeypatch):
    versions = tmp_path / "migrations" / "versions"
    versions.mkdir(parents=True)
    (versions / "a_first.py").write_text("revision = 'a'\n")
    monkeypatch.setattr(migrations, "migrations_dir", lambda service: tmp_path / "migrations")
    before = schema_templates.head_key("audit")
    (versions / "b_second.py").write_text("revision = 'b'\ndown_revision = 'a'\n")
    assert schema_templates.head_key("audit") != before
