"""The apps the benchmarks run as real uvicorn processes (``uvicorn bench.apps:<factory> --factory``).

- ``producer_app``: a service built on ``shared.app`` exactly like the platform's services (request
  context, content-type and idempotency middleware, outbox + relay, bus): ``POST /notes`` writes a
  row and its ``enterprise.registered`` event in one transaction. Figure 2 measures its events.
- ``bare_app``: the reference of figure 3 — a bare FastAPI + SQLModel single-row insert, nothing
  else (no outbox, no middleware), on a database of the same kind. On SQLite it gets the same WAL
  and ``synchronous=NORMAL`` settings as our services, so the two pay the same fsync cost.
"""

from __future__ import annotations

import os
import uuid
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel
from sqlalchemy import event
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from devtools.testing.tokens import verifier
from shared.app import ServiceSpec, UoW, create_service_app
from shared.events.catalog import EventType
from shared.ids import new_id
from shared.reference import make_uscc
from shared.settings import Settings

# --- the producer (our stack) -------------------------------------------------------------------
producer_meta = sa.MetaData()
notes = sa.Table("notes", producer_meta, sa.Column("id", sa.Uuid, primary_key=True), sa.Column("name", sa.String(100)))
USCC = make_uscc("91440703MA00000" + "01")


class NoteIn(BaseModel):
    name: str


producer_router = APIRouter()


@producer_router.post("/notes", status_code=201)
async def create_note(uow: UoW, body: NoteIn) -> dict[str, Any]:
    note_id = new_id()
    async with uow:
        await uow.session.execute(sa.insert(notes).values(id=note_id, name=body.name))
        await uow.emit(
            EventType.ENTERPRISE_REGISTERED,
            {
                "id": str(note_id),
                "version": 1,
                "uscc": USCC,
                "name": body.name,
                "industry": "machinery",
                "district_code": "440703",
                "risk_level": "yellow",
            },
        )
    return {"id": str(note_id)}


def producer_app() -> FastAPI:
    if os.environ.get("BENCH_SWITCH_INTERVAL"):  # experiments only: the GIL switch interval
        import sys

        sys.setswitchinterval(float(os.environ["BENCH_SWITCH_INTERVAL"]))
    spec = ServiceSpec(name="producer", metadata=producer_meta, routers=[producer_router], migrate=False)
    return create_service_app(spec, Settings(), verifier=verifier())


# --- the bare reference -------------------------------------------------------------------------
class Item(SQLModel, table=True):
    __tablename__ = "bench_items"
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class ItemCreate(SQLModel):
    name: str


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def bare_app() -> FastAPI:
    url = os.environ["BENCH_BARE_DATABASE_URL"]
    is_sqlite = url.startswith("sqlite")
    engine = create_async_engine(url, **({} if is_sqlite else {"pool_size": 10, "max_overflow": 10}))
    if is_sqlite:
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if not is_sqlite:
            from shared.db import Database

            database = Database(url, service="bare")
            await database.ensure_database()
            await database.dispose()
        async with engine.begin() as conn:
            await conn.run_sync(SQLModel.metadata.create_all)
        yield
        await engine.dispose()

    app = FastAPI(lifespan=lifespan)

    @app.get("/readyz")
    async def readyz() -> dict[str, str]:
        return {"status": "ready"}

    @app.post("/items", status_code=201)
    async def create_item(body: ItemCreate) -> Item:
        item = Item.model_validate(body)
        async with AsyncSession(engine, expire_on_commit=False) as session:
            session.add(item)
            await session.commit()
        return item

    return app


# --- the bare read reference (figure 12) ------------------------------------------------------------
class ReadBase(SQLModel, registry=registry()):  # its own metadata: bare_app creates nothing of it
    pass


class Entry(ReadBase, table=True):
    """The registry's ``directory_entry`` rows, as a bare app would map them."""

    __tablename__ = "directory_entry"
    agency_id: uuid.UUID = Field(primary_key=True)
    name: str
    uscc: str
    district_code: str
    filing_no: str | None = None
    valid_until: date | None = None
    service_districts: list[str] = Field(sa_column=sa.Column(sa.JSON))
    service_industries: list[str] = Field(sa_column=sa.Column(sa.JSON))
    registered_engineers: list[str] = Field(sa_column=sa.Column(sa.JSON))


def bare_read_app() -> FastAPI:
    """The reference of figure 12: a bare FastAPI + SQLModel app reading the registry's own
    ``directory_entry`` rows (the same rows the directory lists, on the same database): a page of
    them in id order, and one by id. No middleware, no joins, no cache."""
    url = os.environ["BENCH_BARE_DATABASE_URL"]
    is_sqlite = url.startswith("sqlite")
    engine = create_async_engine(url, **({} if is_sqlite else {"pool_size": 10, "max_overflow": 10}))
    if is_sqlite:
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    app = FastAPI()

    @app.get("/readyz")
    async def readyz() -> dict[str, str]:
        return {"status": "ready"}

    @app.get("/entries")
    async def entries(limit: int = 20) -> list[Entry]:
        async with AsyncSession(engine) as session:
            stmt = select(Entry).order_by(sa.column("agency_id")).limit(limit)
            return list((await session.exec(stmt)).all())

    @app.get("/entries/{agency_id}")
    async def entry(agency_id: uuid.UUID) -> Entry | None:
        async with AsyncSession(engine) as session:
            return await session.get(Entry, agency_id)

    return app
