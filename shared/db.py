"""Async database access for one service's own database.

- SQLite (the embedded default): WAL, ``busy_timeout`` and foreign keys on every connection; write
  transactions start with ``BEGIN IMMEDIATE`` so that read-then-write transactions never fail with
  SQLITE_BUSY on lock upgrade; reads use a separate engine with deferred transactions. Write
  transactions of one process also queue on an ``asyncio.Lock`` before ``BEGIN IMMEDIATE``: SQLite
  admits one writer anyway, and a writer that finds the lock taken inside SQLite waits in its busy
  handler, which sleeps 1, 2, 5, 10 … 100 ms between tries — measured, that put the outbox relay's
  claim behind a request's write for up to 100 ms (bench/event_latency.py, docs/BENCHMARKS.md).
  Other processes on the same file (replicas) still meet ``busy_timeout``.
- PostgreSQL through asyncpg; the service's database is created if it is missing.

``Database.transaction()`` is the unit of work: one explicit transaction, committed on success,
after which the registered hooks run (the outbox relay is woken there, so events are published
right after commit).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import types
import zlib
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import registry
from sqlmodel import SQLModel

try:
    from sqlalchemy.util.concurrency import await_
except ImportError:  # SQLAlchemy 2.0 names it await_only
    from sqlalchemy.util import await_only as await_

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLITE_BUSY_TIMEOUT_MS = 10_000


def check_in(column: str, values: Iterable[str], *, nullable: bool = False) -> str:
    """The text of a CHECK constraint keeping ``column`` to ``values`` (an enum's members): enums
    are stored as strings with a CHECK, the same on SQLite and PostgreSQL."""
    allowed = f"{column} IN ({', '.join(repr(str(v)) for v in values)})"
    return f"{allowed} OR {column} IS NULL" if nullable else allowed


def service_registry(name: str) -> registry:
    """The registry (own metadata, naming convention) of one service's tables, for a base class
    that type checkers can follow: ``class Base(SQLModel, registry=service_registry("audit")): ...``."""
    return registry(metadata=sa.MetaData(naming_convention=NAMING_CONVENTION, info={"service": name}))


def service_base(name: str) -> type[SQLModel]:
    """A SQLModel base with its own registry and metadata, so each service's tables and
    migrations stay its own (sqlmodel #264)."""
    return types.new_class(f"{name.title()}Model", (SQLModel,), {"registry": service_registry(name)})


def _sqlite_pragmas(foreign_keys: bool) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver so that we can say BEGIN IMMEDIATE ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return on_connect


def _sqlite_begin(statement: str) -> Callable[[object], None]:
    """The dialect's ``do_begin`` for aiosqlite: our own ``BEGIN [IMMEDIATE]`` (the driver's
    transaction control is off, see ``_sqlite_pragmas``) sent straight to the aiosqlite connection.

    aiosqlite runs every call on its worker thread and each hop costs a thread wake-up and a GIL
    hand-off; a statement through SQLAlchemy's cursor adapter is three hops (open cursor, execute,
    close), this is one. Profiled (bench/shared_write.py), the hops were the largest item of a write.
    Errors surface like any ``do_begin`` failure: wrapped as ``sqlalchemy.exc.OperationalError``."""

    def do_begin(dbapi_connection: Any) -> None:
        await_(dbapi_connection.driver_connection.execute(statement))

    return do_begin


def _one_round_trip_ping(dbapi_connection: Any) -> bool:
    """The pool's check of a connection before handing it out, in one round trip (an empty
    statement). The asyncpg adapter's own ping wraps it in a transaction for pgbouncer's
    transaction mode (BEGIN, the statement, ROLLBACK: three round trips on every checkout); we
    talk to PostgreSQL directly. A failure is translated as the adapter's own ping translates it,
    so the pool still sees a dead connection as a disconnect and reconnects."""
    from sqlalchemy.util.concurrency import await_

    try:
        await_(dbapi_connection._connection.fetchrow(";"))
    except Exception as error:
        dbapi_connection._handle_exception(error)
    return True


class Database:
    def __init__(
        self, url: str, *, service: str, echo: bool = False, pool_size: int = 5, max_overflow: int = 5
    ) -> None:
        self.url = url
        self.service = service
        self.is_sqlite = url.startswith("sqlite")
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        if self.is_sqlite:
            self.engine = self._sqlite_engine(url, immediate=True, echo=echo)
            self.read_engine = self._sqlite_engine(url, immediate=False, echo=echo)
        else:
            self.engine = create_async_engine(
                url, echo=echo, pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True
            )
            if self.engine.dialect.driver == "asyncpg":
                self.engine.sync_engine.dialect.do_ping = _one_round_trip_ping  # type: ignore[method-assign]
            self.read_engine = self.engine
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._read_sessions = async_sessionmaker(self.read_engine, expire_on_commit=False)

    @property
    def engines(self) -> tuple[AsyncEngine, ...]:
        """The writer's engine and, on SQLite, the readers' own."""
        return (self.engine,) if self.read_engine is self.engine else (self.engine, self.read_engine)

    @staticmethod
    def _sqlite_engine(url: str, *, immediate: bool, echo: bool, foreign_keys: bool = True) -> AsyncEngine:
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas(foreign_keys))
        engine.sync_engine.dialect.do_begin = _sqlite_begin(  # type: ignore[method-assign,assignment]
            "BEGIN IMMEDIATE" if immediate else "BEGIN"
        )
        return engine

    @asynccontextmanager
    async def migrating(self) -> AsyncIterator[AsyncEngine]:
        """The engine migrations run on. On SQLite foreign keys are off while they run: Alembic's
        batch mode rebuilds a table (copy, drop, rename), and dropping a parent table with
        foreign keys on deletes every child row through ``ON DELETE CASCADE``."""
        if not self.is_sqlite:
            yield self.engine
            return
        engine = self._sqlite_engine(self.url, immediate=True, echo=False, foreign_keys=False)
        try:
            yield engine
        finally:
            await engine.dispose()

    # --- lifecycle -----------------------------------------------------------------------
    async def ensure_database(self) -> None:
        """Create the SQLite folder or the PostgreSQL database if missing."""
        parsed = make_url(self.url)
        if self.is_sqlite:
            from pathlib import Path

            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            return
        import asyncpg

        name = parsed.database
        admin_dsn = parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
        conn = await asyncpg.connect(admin_dsn)
        try:
            exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
            if not exists:
                # Another replica may create it first: a concurrent CREATE DATABASE fails on the
                # pg_database unique index rather than with DuplicateDatabase.
                with contextlib.suppress(asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
                    await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()

    async def ping(self) -> bool:
        try:
            async with self.read_engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
            return True
        except Exception:
            return False

    # --- units of work -------------------------------------------------------------------
    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session, self._one_writer(), session.begin():
            yield session

    @asynccontextmanager
    async def _one_writer(self) -> AsyncIterator[None]:
        """On SQLite, one write transaction at a time in this process (FIFO), waiting at most as
        long as ``busy_timeout`` would, then failing the same way ("database is locked")."""
        if self._write_lock is None:
            yield
            return
        try:
            async with asyncio.timeout(SQLITE_BUSY_TIMEOUT_MS / 1000):
                await self._write_lock.acquire()
        except TimeoutError:
            raise OperationalError(
                "BEGIN IMMEDIATE",
                None,
                sqlite3.OperationalError("database is locked (waited for this process's other write transaction)"),
            ) from None
        try:
            yield
        finally:
            self._write_lock.release()

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[AsyncSession]:
        async with self._read_sessions() as session:
            yield session


def dialect_insert(session: AsyncSession) -> Callable[..., Any]:
    """The INSERT construct of the session's dialect (for ON CONFLICT clauses)."""
    from sqlalchemy.dialects import postgresql, sqlite

    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


async def insert_ignore(session: AsyncSession, table: sa.Table, values: dict[str, Any]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING; True when the row was inserted."""
    result = await session.execute(dialect_insert(session)(table).values(**values).on_conflict_do_nothing())
    return rowcount(result) == 1


def rowcount(result: Any) -> int:
    """Rows an INSERT/UPDATE/DELETE touched (a ``CursorResult``'s count; typed here once)."""
    count: int = result.rowcount
    return count


async def execute_core(session: AsyncSession, statement: Any, parameters: Any = None) -> Any:
    """A Core statement on the session's connection, in its transaction, without the ORM's
    autoflush: an outbox row or an audit-trail link written between two changes of an entity no
    longer sends the entity's UPDATE early, so its changes reach the database in one statement at
    the next query or at commit. For statements that do not read the ORM's own tables."""
    connection = await session.connection()
    return await connection.execute(statement, parameters)


async def next_in_sequence(session: AsyncSession, table: sa.Table, *, key: str, key_value: Any, counter: str) -> int:
    """The next number of a counter row (created at 1 when missing), taken in the caller's
    transaction in one statement (an upsert that returns the number): the row stays locked until
    commit, so concurrent callers get distinct numbers."""
    stmt = (
        dialect_insert(session)(table)
        .values({key: key_value, counter: 1})
        .on_conflict_do_update(index_elements=[table.c[key]], set_={counter: table.c[counter] + 1})
        .returning(table.c[counter])
    )
    number: int = (await execute_core(session, stmt)).scalar_one()
    return number


async def serialise(session: AsyncSession, name: str) -> None:
    """Hold a transaction-scoped lock named ``name`` until the caller's transaction ends, so that
    two transactions checking then writing the same thing run one after the other. PostgreSQL: an
    advisory lock; SQLite: nothing to do, its one writer (BEGIN IMMEDIATE) already serialises."""
    if session.get_bind().dialect.name == "postgresql":
        await execute_core(session, sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(name.encode())})


def database_unavailable(exc: BaseException) -> bool:
    """The database restarting, unreachable, or locked past ``busy_timeout``: the operation may
    succeed if tried again later — an outage, not a bug (HTTP 503, and no delivery attempt spent)."""
    if isinstance(exc, ConnectionError):  # refused or reset before the driver wrapped it
        return True
    return isinstance(exc, DBAPIError) and is_transient(exc)


# SQLSTATE classes of a passing condition: connection exceptions (08), insufficient resources such
# as "too many clients" (53), an operator's shutdown or a crash restart (57P01–57P03).
TRANSIENT_SQLSTATES = ("08", "53", "57P01", "57P02", "57P03")


def is_transient(exc: BaseException) -> bool:
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None) or getattr(exc, "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate.startswith(TRANSIENT_SQLSTATES):
        return True
    message = str(exc).lower()
    return any(
        marker in message
        for marker in (
            "database is locked",
            "database is busy",
            "connection was closed",
            "connection is closed",
            "cannot connect",
            "connection refused",
            "terminating connection",
            "connectiondoesnotexist",
            "connect call failed",
            "starting up",
            "shutting down",
            "recovery mode",
            "not yet accepting connections",
            "too many clients",
            "too many connections",
            "remaining connection slots are reserved",
            "connection reset",
        )
    ) or bool(getattr(exc, "connection_invalidated", False))
