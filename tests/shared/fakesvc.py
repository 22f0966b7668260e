"""Two throwaway services wired with the real shared library — a producer that writes a row and
its event in one transaction, and a consumer whose handler writes a row per event — to test the
outbox, the relay, the inbox and dead letters over real NATS and real databases."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, ClassVar

import sqlalchemy as sa
from fastapi import APIRouter, Query

from devtools.testing.tokens import verifier
from shared.app import ServiceSpec, UoW, create_service_app
from shared.errors import ErrorCode, ValidationFailed
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
    """Lets a test make the consumer's handler fail, then 'fix' it: every event (``failing``), or
    those of chosen names, after writing part of their effect (``names``)."""

    failing = False
    names: ClassVar[set[str]] = set()


class ProcessKilled(BaseException):  # what a SIGKILL looks like to the code in flight
    """Ends the consumer's task in the middle of a batch, as a killed process would: nothing after it
    runs, the transaction is never committed."""


class Switches:
    """The consumer's other levers: a gate the ``enterprise.*`` handler waits on (a family held up
    by a burst), and a name whose event 'kills the process' mid-batch once."""

    enterprise_gate: ClassVar[asyncio.Event | None] = None
    kill_on: ClassVar[str | None] = None

    @classmethod
    def reset(cls) -> None:
        cls.enterprise_gate, cls.kill_on = None, None
        Poison.failing, Poison.names = False, set()


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


@producer_router.post("/lookups", status_code=201)
async def look_up(uow: UoW, body: dict[str, Any]) -> dict[str, Any]:
    """Answers like a service whose read model has not yet seen the note: 422 ``agency_unknown``
    until a note of that name exists (an answer a retry may change)."""
    async with uow:  # refused inside the unit of work, as the services' rules are: nothing commits
        found = (await uow.session.execute(sa.select(notes.c.id).where(notes.c.name == body.get("name")))).first()
        if found is None:
            raise ValidationFailed(code=ErrorCode.AGENCY_UNKNOWN)
    return {"id": str(found.id)}


@producer_router.post("/secrets", status_code=201)
async def issue_secret(uow: UoW) -> dict[str, Any]:
    """A secret shown once, as a client or webhook creation answers."""
    return {"id": str(new_id()), "secret": f"whsec_{uuid.uuid4().hex}", "name": "hook"}


CONSUMERS = Consumers()


@CONSUMERS.on("enterprise.*")
async def on_enterprise(uow: UnitOfWork, event: CloudEvent) -> None:
    if Poison.failing:
        raise ValueError("poisoned handler")
    if Switches.enterprise_gate is not None:
        await Switches.enterprise_gate.wait()
    await uow.session.execute(
        sa.insert(seen).values(event_id=event.id, entity_id=event.data["id"], version=event.data["version"])
    )
    name = event.data.get("name")
    if name in Poison.names:
        raise ValueError(f"poisoned handler for {name}")  # after its write: the savepoint must undo it
    if name is not None and name == Switches.kill_on:
        Switches.kill_on = None
        raise ProcessKilled(name)


@CONSUMERS.on("contract.*")
async def on_contract(uow: UnitOfWork, event: CloudEvent) -> None:
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
