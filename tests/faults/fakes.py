"""Throwaway services on the real shared library, for breaking things on purpose.

- ``writer``: each ``POST /items`` creates an entity (version 1) and ``POST /items/{id}/rename``
  bumps its version; each write commits its row and its event (``enterprise.registered`` /
  ``enterprise.updated``) in one transaction through the outbox, and optionally appends to the
  hash-chained audit trail (``?audit=true``).
- ``reader``: a consumer keeping a versioned read model (``entities``) — an event whose version is
  not newer than the model's is ignored — and an ``effects`` log with one row per handled delivery,
  so a test can count duplicate effects (the same event id twice) and stale events.

``Faults`` makes the handler fail or crash on chosen entity names. The ``*_from_env`` factories
run the same apps as uvicorn processes (``CUSTODY_*`` settings from the environment;
``FAULT_KILL_ON`` names an entity whose event SIGKILLs the process in the middle of the handler).
"""

from __future__ import annotations

import os
import signal
from typing import Any, ClassVar

import sqlalchemy as sa
from fastapi import APIRouter, Query

from devtools.testing.tokens import verifier
from shared.app import ServiceSpec, UoW, create_service_app
from shared.errors import NotFound
from shared.events.catalog import EventType
from shared.events.envelope import CloudEvent
from shared.events.inbox import Consumers
from shared.ids import new_id
from shared.reference import make_uscc
from shared.settings import Settings
from shared.uow import UnitOfWork

# --- writer --------------------------------------------------------------------------------
writer_meta = sa.MetaData()
items = sa.Table(
    "items",
    writer_meta,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)

USCC = make_uscc("91440703MA00000" + "01")


def entity_data(entity_id: str, name: str, version: int) -> dict[str, Any]:
    return {
        "id": entity_id,
        "version": version,
        "uscc": USCC,
        "name": name,
        "industry": "machinery",
        "district_code": "440703",
        "risk_level": "yellow",
    }


writer_router = APIRouter()


@writer_router.post("/items", status_code=201)
async def create_item(uow: UoW, body: dict[str, Any], audit: bool = Query(False)) -> dict[str, Any]:
    item_id = new_id()
    name = str(body.get("name", ""))
    async with uow:
        await uow.session.execute(sa.insert(items).values(id=item_id, name=name, version=1))
        await uow.emit(EventType.ENTERPRISE_REGISTERED, entity_data(str(item_id), name, 1))
        if audit:
            await uow.audit(action="item.created", entity_type="item", entity_id=item_id, payload={"name": name})
    if name == os.environ.get("FAULT_KILL_AFTER_COMMIT"):
        mark = os.environ.get("FAULT_KILL_MARK")
        if mark and not os.path.exists(mark):  # noqa: ASYNC240  # the process is about to die anyway
            with open(mark, "w") as f:  # noqa: ASYNC230
                f.write(str(item_id))
            os.kill(os.getpid(), signal.SIGKILL)  # committed, response not yet sent nor stored
    return {"id": str(item_id), "version": 1}


@writer_router.post("/items/{item_id}/rename")
async def rename_item(item_id: str, uow: UoW, body: dict[str, Any]) -> dict[str, Any]:
    import uuid

    name = str(body.get("name", ""))
    async with uow:
        session = uow.session
        stmt = sa.select(items).where(items.c.id == uuid.UUID(item_id)).with_for_update()
        row = (await session.execute(stmt)).mappings().first()
        if row is None:
            raise NotFound("no such item")
        version = row["version"] + 1
        await session.execute(sa.update(items).where(items.c.id == row["id"]).values(name=name, version=version))
        await uow.emit(EventType.ENTERPRISE_UPDATED, entity_data(item_id, name, version))
    return {"id": item_id, "version": version}


def writer_app(settings: Settings):
    spec = ServiceSpec(name="writer", metadata=writer_meta, routers=[writer_router], migrate=False)
    return create_service_app(spec, settings, verifier=verifier())


# --- reader --------------------------------------------------------------------------------
reader_meta = sa.MetaData()
entities = sa.Table(
    "entities",
    reader_meta,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)
effects = sa.Table(
    "effects",
    reader_meta,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(64), nullable=False),  # deliberately not unique: duplicates would show
    sa.Column("entity_id", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("applied", sa.Boolean, nullable=False),  # False: stale, ignored
)


class Faults:
    """Failure switches for the in-process reader's handler."""

    fail_names: ClassVar[set[str]] = set()  # raise (after a partial write) for these entity names, always
    fail_once_names: ClassVar[set[str]] = set()  # raise once per event, then succeed
    _failed_once: ClassVar[set[str]] = set()
    handled_attempts: ClassVar[dict[str, int]] = {}

    @classmethod
    def reset(cls) -> None:
        cls.fail_names = set()
        cls.fail_once_names = set()
        cls._failed_once = set()
        cls.handled_attempts = {}


READER_CONSUMERS = Consumers()


@READER_CONSUMERS.on("enterprise.*")
async def on_entity(uow: UnitOfWork, event: CloudEvent) -> None:
    session = uow.session
    data = event.data
    name, version, entity_id = data["name"], int(data["version"]), data["id"]
    Faults.handled_attempts[event.id] = Faults.handled_attempts.get(event.id, 0) + 1
    current = (await session.execute(sa.select(entities.c.version).where(entities.c.id == entity_id))).scalar()
    fresh = current is None or version > current
    # The effect is written first; a crash after it must roll it back with the inbox row.
    await session.execute(
        sa.insert(effects).values(event_id=event.id, entity_id=entity_id, version=version, applied=fresh)
    )
    if fresh:
        if current is None:
            await session.execute(sa.insert(entities).values(id=entity_id, name=name, version=version))
        else:
            await session.execute(
                sa.update(entities).where(entities.c.id == entity_id).values(name=name, version=version)
            )
    if name == os.environ.get("FAULT_KILL_ON"):
        mark = os.environ.get("FAULT_KILL_MARK")
        if mark and not os.path.exists(mark):  # noqa: ASYNC240  # the process is about to die anyway
            with open(mark, "w") as f:  # noqa: ASYNC230
                f.write(event.id)
            os.kill(os.getpid(), signal.SIGKILL)  # a real crash in the middle of the handler's transaction
    if name in Faults.fail_names:
        raise ValueError(f"poisoned handler for {name}")
    if name in Faults.fail_once_names and event.id not in Faults._failed_once:
        Faults._failed_once.add(event.id)
        raise RuntimeError(f"crashed mid-handler on {name}")


def reader_app(settings: Settings):
    spec = ServiceSpec(name="reader", metadata=reader_meta, routers=[], consumers=READER_CONSUMERS, migrate=False)
    return create_service_app(spec, settings, verifier=verifier())


def writer_from_env():
    return writer_app(Settings())


def reader_from_env():
    return reader_app(Settings())


# --- reading what happened -----------------------------------------------------------------
async def rows(db, table: sa.Table) -> list[dict[str, Any]]:
    async with db.reader() as session:
        return [dict(r) for r in (await session.execute(sa.select(table))).mappings()]


async def effect_counts(db) -> dict[str, int]:
    """event id -> how many times its effect was committed."""
    counts: dict[str, int] = {}
    for row in await rows(db, effects):
        counts[row["event_id"]] = counts.get(row["event_id"], 0) + 1
    return counts
