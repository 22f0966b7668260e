"""Conditional GETs of public, read-mostly resources (D62): an ETag from a cheap version of
what the response depends on, ``If-None-Match`` → 304 with no body, ``Cache-Control``, and a
small in-process cache of rendered bodies keyed by (request, version).

The version is a *read generation*: one row per read model in the service's ``read_generation``
table, bumped by database triggers on the tables the read model is built from (``bump_triggers``
in the service's migration). A trigger runs in the writing transaction whatever writes — a use
case, a consumer, a sweep, a migration — so the generation a request reads moves with the commit
that changes the rows, on every replica sharing the database: each request reads one tiny row
instead of the page, and a replica's cache can never serve a page older than that row.
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import sqlalchemy as sa
from fastapi import Request, Response
from sqlalchemy.ext.asyncio import AsyncEngine

GENERATIONS = "read_generation"
# revalidate every time: a suspended agency leaves the list at once, also in a shared cache; the
# 304 makes revalidation cheap (no body, one one-row read)
CACHE_CONTROL = "public, no-cache"
CACHE_ENTRIES = 512
CACHE_BYTES = 8 * 1024 * 1024  # per process: a page of 200 entries is ~100 KB


def generations_table(metadata: sa.MetaData) -> sa.Table:
    """The service's read generations (one row per read model; added to its metadata)."""
    return sa.Table(
        GENERATIONS,
        metadata,
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("generation", sa.BigInteger, nullable=False, server_default="0"),
    )


# --- the triggers (for the migrations) ------------------------------------------------------------
def _trigger(table: str, event: str) -> str:
    return f"bump_{GENERATIONS}_{table}_{event.lower()}"


def bump_triggers(dialect: str, generation: str, table: str, *, columns: Sequence[str] = ()) -> list[str]:
    """DDL that bumps ``generation`` on every insert, update and delete of ``table`` (of an update
    of ``columns`` only, when given: the other columns do not reach the read model)."""
    of = f" OF {', '.join(columns)}" if columns else ""
    events = ("UPDATE",) if columns else ("INSERT", "UPDATE", "DELETE")
    bump = f"UPDATE {GENERATIONS} SET generation = generation + 1 WHERE name = '{generation}'"
    if dialect == "sqlite":
        return [
            f"CREATE TRIGGER {_trigger(table, e)} AFTER {e}{of if e == 'UPDATE' else ''} ON {table} "
            f"FOR EACH ROW BEGIN {bump}; END"
            for e in events
        ]
    # PostgreSQL: once per statement (a statement touching many rows bumps once)
    return [
        f"CREATE TRIGGER {_trigger(table, 'all')} AFTER {' OR '.join(e + (of if e == 'UPDATE' else '') for e in events)}"
        f" ON {table} FOR EACH STATEMENT EXECUTE FUNCTION bump_{GENERATIONS}('{generation}')"
    ]


def drop_triggers(dialect: str, table: str, *, columns: Sequence[str] = ()) -> list[str]:
    if dialect == "sqlite":
        events = ("UPDATE",) if columns else ("INSERT", "UPDATE", "DELETE")
        return [f"DROP TRIGGER IF EXISTS {_trigger(table, e)}" for e in events]
    return [f"DROP TRIGGER IF EXISTS {_trigger(table, 'all')} ON {table}"]


def create_function(dialect: str) -> list[str]:
    """PostgreSQL's trigger function (SQLite's triggers carry their statement)."""
    if dialect == "sqlite":
        return []
    return [
        f"CREATE OR REPLACE FUNCTION bump_{GENERATIONS}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"UPDATE {GENERATIONS} SET generation = generation + 1 WHERE name = TG_ARGV[0]; RETURN NULL; END $$"
    ]


def drop_function(dialect: str) -> list[str]:
    return [] if dialect == "sqlite" else [f"DROP FUNCTION IF EXISTS bump_{GENERATIONS}()"]


def install(
    bind: sa.Connection,
    table: sa.TableClause,
    watched: Mapping[str, Mapping[str, Sequence[str]]],
    *,
    drop: bool = False,
) -> None:
    """Create (or drop) the generations' rows and triggers: ``watched`` maps a generation to the
    tables it follows (each with the columns it follows; empty: every column)."""
    dialect = bind.dialect.name
    statements: list[str] = []
    if not drop:
        bind.execute(sa.insert(table), [{"name": name, "generation": 0} for name in watched])
        statements += create_function(dialect)
    for generation, tables in watched.items():
        for name, columns in tables.items():
            statements += (
                drop_triggers(dialect, name, columns=columns)
                if drop
                else bump_triggers(dialect, generation, name, columns=columns)
            )
    if drop:
        statements += drop_function(dialect)
    for statement in statements:
        bind.execute(sa.text(statement))


async def read_generations(engine: AsyncEngine, table: sa.Table, names: Iterable[str]) -> tuple[int, ...]:
    """The generations named, in order (0 for one without its row): one small read. On SQLite it
    is read on the event loop from a read-only connection of its own: a primary-key read of a
    local file in WAL mode (readers never wait for the writer) costs microseconds, less than the
    thread hop of an aiosqlite statement. On PostgreSQL, one round trip on a connection of its own
    (the pool's checkout pings and its return rolls back: three round trips for one row)."""
    wanted = list(names)
    if engine.dialect.name == "sqlite" and (reader := _sqlite_reader(engine)) is not None:
        marks = ", ".join("?" * len(wanted))
        rows = dict(reader.execute(f"SELECT name, generation FROM {table.name} WHERE name IN ({marks})", wanted))
    elif engine.dialect.name == "postgresql":
        rows = await _PgReader.of(engine).fetch(table.name, wanted)
    else:
        async with engine.connect() as conn:
            stmt = sa.select(table.c.name, table.c.generation).where(table.c.name.in_(wanted))
            rows = dict((await conn.execute(stmt)).tuples().all())
    return tuple(int(rows.get(name, 0)) for name in wanted)


class _PgReader:
    """One asyncpg connection per engine for the generations, one query at a time (a request
    never joins a read that began before it arrived: it would miss a commit it must see)."""

    _of: ClassVar[weakref.WeakKeyDictionary[sa.Engine, _PgReader]] = weakref.WeakKeyDictionary()

    def __init__(self, engine: AsyncEngine) -> None:
        self.dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.lock = asyncio.Lock()
        self.conn: Any = None

    @classmethod
    def of(cls, engine: AsyncEngine) -> _PgReader:
        reader = cls._of.get(engine.sync_engine)
        if reader is None:
            reader = cls._of[engine.sync_engine] = cls(engine)
            sa.event.listen(engine.sync_engine, "engine_disposed", lambda _engine: reader.terminate())
        return reader

    def terminate(self) -> None:
        """The engine is disposed (the app stops): its reader's connection goes with it."""
        if self.conn is not None:
            self.conn.terminate()
            self.conn = None

    async def fetch(self, table: str, names: list[str]) -> dict[str, int]:
        import asyncpg

        async with self.lock:
            for attempt in (1, 2):  # a connection lost (a restart, a reset) is opened again once
                try:
                    if self.conn is None or self.conn.is_closed():
                        self.conn = await asyncpg.connect(self.dsn)
                    rows = await self.conn.fetch(
                        f"SELECT name, generation FROM {table} WHERE name = ANY($1::text[])", names
                    )
                    return {r["name"]: r["generation"] for r in rows}
                except (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError):
                    self.conn = None
                    if attempt == 2:
                        raise
        raise AssertionError("unreachable")


_READERS: weakref.WeakKeyDictionary[sa.Engine, sqlite3.Connection] = weakref.WeakKeyDictionary()


def _close_sqlite_reader(engine: sa.Engine) -> None:
    reader = _READERS.pop(engine, None)
    if reader is not None:
        reader.close()


def _sqlite_reader(engine: AsyncEngine) -> sqlite3.Connection | None:
    """The engine's own read-only connection to its database file (None in memory)."""
    reader = _READERS.get(engine.sync_engine)
    if reader is None:
        path = engine.url.database
        if not path or path == ":memory:":
            return None
        # autocommit: each SELECT its own read transaction, so it sees the latest commit
        reader = sqlite3.connect(
            f"file:{path}?mode=ro", uri=True, check_same_thread=False, isolation_level=None, timeout=1.0
        )
        _READERS[engine.sync_engine] = reader
        sa.event.listen(engine.sync_engine, "engine_disposed", _close_sqlite_reader)
    return reader


# --- the conditional answer -----------------------------------------------------------------------
def etag_for(*parts: object) -> str:
    """A strong ETag of what a response depends on (the same parts: the same bytes)."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=12).hexdigest()
    return f'"{digest}"'


def none_match(header: str | None, etag: str, *, exists: bool = True) -> bool:
    """Whether ``If-None-Match`` matches (RFC 9110 §13.1.2: weak comparison; ``*`` matches any
    current representation, so only one that exists)."""
    if header is None:
        return False
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return ("*" in tags and exists) or etag in tags


@dataclass(frozen=True)
class Rendered:
    etag: str
    body: bytes


class RenderedCache:
    """Rendered bodies by request key, each with the ETag it was rendered at: a newer version
    replaces the entry, so a stale body is never served. Least recently used leaves first."""

    def __init__(self, entries: int = CACHE_ENTRIES, max_bytes: int = CACHE_BYTES) -> None:
        self.entries, self.max_bytes = entries, max_bytes
        self._bodies: OrderedDict[tuple[object, ...], Rendered] = OrderedDict()
        self.bytes = self.hits = self.misses = 0

    def get(self, key: tuple[object, ...], etag: str) -> Rendered | None:
        held = self._bodies.get(key)
        if held is None or held.etag != etag:
            self.misses += 1
            return None
        self._bodies.move_to_end(key)
        self.hits += 1
        return held

    def put(self, key: tuple[object, ...], rendered: Rendered) -> None:
        if len(rendered.body) > self.max_bytes:
            return
        previous = self._bodies.pop(key, None)
        self.bytes += len(rendered.body) - (len(previous.body) if previous else 0)
        self._bodies[key] = rendered
        while len(self._bodies) > self.entries or self.bytes > self.max_bytes:
            _, oldest = self._bodies.popitem(last=False)
            self.bytes -= len(oldest.body)

    def clear(self) -> None:
        self._bodies.clear()
        self.bytes = 0


def cache_of(request: Request) -> RenderedCache:
    """The app's own cache (never a module's: two apps in one process have two databases)."""
    state = request.app.state
    cache = getattr(state, "rendered", None)
    if cache is None:
        cache = state.rendered = RenderedCache()
    return cache


async def conditional(
    request: Request,
    *,
    version: tuple[object, ...],
    render: Callable[[], Awaitable[bytes]],
    vary: str | None = None,
    media_type: str = "application/json",
) -> Response:
    """Answer a public GET at ``version``: 304 when ``If-None-Match`` names it, else the cached
    body rendered at it, else ``render()`` (its errors propagate: a 404 is never cached)."""
    key = (request.url.path, request.url.query)
    etag = etag_for(*key, *version)
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if vary:
        headers["Vary"] = vary
    header = request.headers.get("if-none-match")
    if none_match(header, etag, exists=False):
        return Response(status_code=304, headers=headers)
    cache = cache_of(request)
    held = cache.get(key, etag)
    if held is None:
        held = Rendered(etag, await render())
        cache.put(key, held)
    if none_match(header, etag):  # ``*``: the representation exists
        return Response(status_code=304, headers=headers)
    return Response(held.body, media_type=media_type, headers=headers)
