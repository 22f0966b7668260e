"""Per-service Alembic migrations, applied at start.

Each service (and the gateway) keeps ``migrations/`` beside its models with an ``env.py`` of two
lines that calls ``run_env``. Migrations run on the service's own async engine through
``connection.run_sync`` (Alembic's connection-sharing recipe); on PostgreSQL an advisory lock keeps
two replicas starting together from migrating at once.

``python -m shared.migrations revision SERVICE -m MESSAGE`` autogenerates a revision against a
scratch SQLite database upgraded to head.
"""

from __future__ import annotations

import asyncio
import importlib
import shutil
import sys
import tempfile
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from alembic import command, context
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext

if TYPE_CHECKING:
    from shared.db import Database

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_DIR = Path(__file__).resolve().parent / "migration_template"

ENV_PY = '''"""Alembic environment of the {service} service (its own metadata and version table)."""
from shared.migrations import run_env
from {package}.models import metadata

run_env(metadata, service="{service}")
'''


def package_of(service: str) -> str:
    return "gateway" if service == "gateway" else f"services.{service}"


def migrations_dir(service: str) -> Path:
    return ROOT / package_of(service).replace(".", "/") / "migrations"


def version_table(service: str) -> str:
    return f"alembic_version_{service}"


def alembic_config(service: str, url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir(service)))
    if url:
        cfg.set_main_option("sqlalchemy.url", url)
    cfg.attributes["service"] = service
    return cfg


def _configure(connection: sa.Connection, metadata: sa.MetaData, service: str) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        version_table=version_table(service),
        compare_type=True,
        user_module_prefix="sqlmodel.sql.sqltypes.",
    )


def run_env(metadata: sa.MetaData, *, service: str) -> None:
    """Body of every service's ``migrations/env.py``."""
    config = context.config
    connection = config.attributes.get("connection")

    def run(conn: sa.Connection) -> None:
        _configure(conn, metadata, service)
        with context.begin_transaction():
            context.run_migrations()

    if connection is not None:
        run(connection)
        return
    if context.is_offline_mode():
        context.configure(
            url=config.get_main_option("sqlalchemy.url"),
            target_metadata=metadata,
            version_table=version_table(service),
            literal_binds=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        return

    from sqlalchemy.ext.asyncio import create_async_engine

    async def online() -> None:
        engine = create_async_engine(str(config.get_main_option("sqlalchemy.url")))
        async with engine.begin() as conn:
            await conn.run_sync(run)
        await engine.dispose()

    asyncio.run(online())


async def upgrade(db: Database, service: str) -> None:
    cfg = alembic_config(service)

    def _upgrade(connection: sa.Connection) -> None:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")

    async with db.migrating() as engine, engine.begin() as conn:
        if not db.is_sqlite:
            await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": zlib.crc32(service.encode())})
        await conn.run_sync(_upgrade)
        if db.is_sqlite:  # foreign keys were off (Database.migrating): the data must still satisfy them
            broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
            if broken:
                raise RuntimeError(f"{service}: migrations left rows breaking foreign keys: {broken[:5]}")


async def prepare(db: Database, service: str, *, from_template: bool = False) -> None:
    """At a service's start: its database exists and is at head. ``from_template`` (tests, see
    ``shared.schema_templates``) makes a new database a copy of one already migrated."""
    if from_template:
        from shared.schema_templates import start_from_template

        if await start_from_template(db, service):
            return  # a copy of a database at this head
    await db.ensure_database()
    await upgrade(db, service)


async def downgrade(db: Database, service: str, revision: str = "base") -> None:
    cfg = alembic_config(service)

    def _downgrade(connection: sa.Connection) -> None:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)

    async with db.migrating() as engine, engine.begin() as conn:
        await conn.run_sync(_downgrade)


async def pending_changes(db: Database, metadata: sa.MetaData) -> list[Any]:
    """What autogenerate would still add: empty when the migrations match the models."""

    def _diff(connection: sa.Connection) -> list[Any]:
        def include_name(name: str | None, type_: str, _parent: Any) -> bool:
            return not (type_ == "table" and (name or "").startswith("alembic_version"))

        ctx = MigrationContext.configure(
            connection, opts={"compare_type": True, "target_metadata": metadata, "include_name": include_name}
        )
        diff: list[Any] = compare_metadata(ctx, metadata)
        return diff

    async with db.engine.connect() as conn:
        return await conn.run_sync(_diff)


def ensure_scaffold(service: str) -> Path:
    folder = migrations_dir(service)
    (folder / "versions").mkdir(parents=True, exist_ok=True)
    env = folder / "env.py"
    if not env.exists():
        env.write_text(ENV_PY.format(service=service, package=package_of(service)))
    shutil.copy(TEMPLATE_DIR / "script.py.mako", folder / "script.py.mako")
    return folder


def autogenerate_revision(service: str, message: str) -> None:
    from shared.db import Database

    ensure_scaffold(service)
    importlib.import_module(f"{package_of(service)}.models")
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/scratch.db"

        async def prepare() -> None:
            db = Database(url, service=service)
            await db.ensure_database()
            await upgrade(db, service)
            await db.dispose()

        asyncio.run(prepare())
        cfg = alembic_config(service, url)
        command.revision(cfg, message=message, autogenerate=True)


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "revision":
        message = argv[argv.index("-m") + 1] if "-m" in argv else "migration"
        autogenerate_revision(argv[1], message)
        return 0
    print("usage: python -m shared.migrations revision SERVICE -m MESSAGE", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
