"""A new, empty database as a copy of one already migrated to the same head (tests only).

Replaying every migration costs 0.3–2 s per service start, and the test suite starts a few thousand
empty databases. With ``settings.schema_templates`` a service's first start at a given head migrates
a template once — a SQLite file in the temp folder, a PostgreSQL database marked ``IS_TEMPLATE`` —
and every later empty database of that service starts as its copy (``CREATE DATABASE … TEMPLATE``),
already at head. The template's name carries a hash of the migration files, so a new migration makes
a new template, never a stale copy; old templates stay until the server is reset (a few MB each,
and another checkout at another head may still be copying them). What a service sees is exactly
what its migrations make: tests/shared/test_schema_templates.py compares a copy with a migrated
database on both backends.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import sqlite3
import tempfile
import uuid
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url

from shared.backoff import until_done

if TYPE_CHECKING:
    from shared.db import Database

SQLITE_FOLDER = Path(tempfile.gettempdir()) / "custody-schema-templates"


def head_key(service: str) -> str:
    """A short hash of the service's migration files: the template's identity."""
    from shared.migrations import migrations_dir

    digest = hashlib.sha256()
    for path in sorted((migrations_dir(service) / "versions").glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


async def start_from_template(db: Database, service: str) -> bool:
    """Make ``db`` a copy of the migrated template when it does not exist yet (True); else leave
    it (False)."""
    if db.is_sqlite:
        return await _sqlite(db, service)
    return await _postgres(db, service)


async def _migrated(url: str, service: str) -> None:
    from shared.db import Database
    from shared.migrations import upgrade

    scratch = Database(url, service=service)
    try:
        await scratch.ensure_database()
        await upgrade(scratch, service)
    finally:
        await scratch.dispose()


async def _sqlite(db: Database, service: str) -> bool:
    target = make_url(db.url).database
    if not target or target == ":memory:" or not await asyncio.to_thread(_is_new_file, Path(target)):
        return False
    template = SQLITE_FOLDER / f"{service}-{head_key(service)}.db"
    if not await asyncio.to_thread(template.exists):
        building = template.with_name(f"{template.stem}.{uuid.uuid4().hex}.building")
        await asyncio.to_thread(SQLITE_FOLDER.mkdir, parents=True, exist_ok=True)
        await _migrated(f"sqlite+aiosqlite:///{building}", service)
        await asyncio.to_thread(_publish, building, template)
    await asyncio.to_thread(_copy, template, Path(target))
    return True


def _is_new_file(path: Path) -> bool:
    return not path.exists() or path.stat().st_size == 0


def _publish(building: Path, template: Path) -> None:
    with contextlib.closing(sqlite3.connect(building)) as conn:  # everything into the file itself
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    os.replace(building, template)  # atomic: a concurrent worker sees a whole file or none
    for leftover in building.parent.glob(f"{building.name}-*"):  # the emptied -wal / -shm
        leftover.unlink(missing_ok=True)


def _copy(template: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, target)


async def _postgres(db: Database, service: str) -> bool:
    import asyncpg

    parsed = make_url(db.url)
    name = parsed.database
    admin_dsn = parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    template = f"custody_template_{service}_{head_key(service)}"
    conn = await asyncpg.connect(admin_dsn)
    try:
        if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return False
        # One builder per template across test workers; the others wait on the lock, then copy.
        await conn.execute("SELECT pg_advisory_lock($1)", zlib.crc32(template.encode()))
        try:
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", template):
                building = f"{template}_building"
                await conn.execute(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
                await _migrated(parsed.set(database=building).render_as_string(hide_password=False), service)
                await conn.execute(f'ALTER DATABASE "{building}" RENAME TO "{template}"')
                await conn.execute(f'ALTER DATABASE "{template}" IS_TEMPLATE true')
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", zlib.crc32(template.encode()))

        async def copy() -> bool:
            try:
                await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
            except (asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
                return False  # another replica created it first: it migrates as usual
            return True

        # The builder's last connection may still be closing on the server ("being accessed by
        # other users"): that passes within moments.
        return await until_done(
            copy,
            first=0.05,
            cap=0.5,
            event="schema_template.busy",
            retry_if=lambda exc: isinstance(exc, asyncpg.ObjectInUseError),
            template=template,
        )
    finally:
        await conn.close()
