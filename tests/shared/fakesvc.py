"""Two throwaway services wired with the real shared library — a producer that writes a row and
its event in one transaction, and a consumer whose handler writes a row per event — to test the
outbox, the relay, the inbox and dead letters over real NATS and real databases."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Query

from devtools.testing.tokens import verifier
from shared.app import ServiceSpec, UoW, create_service_app
from shared.events.catalog import EventType
from shared.events.envelope import CloudEvent
from shared.events.inbox import Consumers
from shared.ids import new_id
from shared.reference import make_uscc
from shared.settings import Settings
from shared.uow import UnitOfWork

producer_meta = sa.MetaData()
notes = sa.Table("notes", producer_meta, sa.Column("id", sa.Uuid, primary_key=True), sa.Column("name", sa.String(100)))

consumer_meta = sa.MetaData()
seen = sa.Table(
    "seen",
    consumer_meta,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(64), nullable=False),
    sa.Column("entity_id", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)


class Poison:
    """Lets a test make the consumer's handler fail, then 'fix' it."""

    failing = False


def enterprise_data(entity_id: str, name: str, version: int = 1) -> dict[str, Any]:
    return {
        "id": entity_id,
        "version": version,
        "uscc": make_uscc("91440703MA00000" + "01"),
        "name": name,
        "industry": "machinery",
        "district_code": "440703",
        "risk_level": "yellow",
    }


producer_router = APIRouter()


@producer_router.post("/notes", status_code=201)
async def create_note(uow: UoW, body: dict[str, Any], fail: bool = Query(False)) -> dict[str, Any]:
    note_id = new_id()
    async with uow:
        await uow.session.execute(sa.insert(notes).values(id=note_id, name=str(body.get("name", ""))))
        await uow.emit(EventType.ENTERPRISE_REGISTERED, enterprise_data(str(note_id), str(body.get("name", ""))))
        if fail:
            raise RuntimeError("rolled back on purpose")
    return {"id": str(note_id)}


CONSUMERS = Consumers()


@CONSUMERS.on("enterprise.*")
async def on_enterprise(uow: UnitOfWork, event: CloudEvent) -> None:
    if Poison.failing:
        raise ValueError("poisoned handler")
    await uow.session.execute(
        sa.insert(seen).values(event_id=event.id, entity_id=event.data["id"], version=event.data["version"])
    )


def producer_app(settings: Settings):
    spec = ServiceSpec(name="producer", metadata=producer_meta, routers=[producer_router], migrate=False)
    return create_service_app(spec, settings, verifier=verifier())


def consumer_app(settings: Settings):
    spec = ServiceSpec(name="consumer", metadata=consumer_meta, routers=[], consumers=CONSUMERS, migrate=False)
    return create_service_app(spec, settings, verifier=verifier())


async def seen_rows(app) -> list[dict[str, Any]]:
    async with app.state.runtime.db.reader() as session:
        return [dict(r) for r in (await session.execute(sa.select(seen).order_by(seen.c.seq))).mappings()]


def new_uuid() -> str:
    return str(uuid.uuid4())
