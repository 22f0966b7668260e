"""Builders for the audit service's tests: the events other services would publish (to feed the
read models over the real bus) and a running audit app with a frozen clock."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa

from devtools.testing.apps import running
from devtools.testing.events import publish_event, read_events
from devtools.testing.tokens import auth, verifier
from devtools.testing.wait import eventually
from services.audit.main import create_app
from services.audit.models import AgencyView, ContractView, EnterpriseView
from shared.clock import FrozenClock
from shared.reference import make_uscc

TODAY = date(2026, 6, 1)
DISTRICT = "440703"
OTHER_DISTRICT = "440705"
CITY = "440700"
_counter = itertools.count(1)


def uscc(prefix: str = "91440703MA") -> str:
    return make_uscc(f"{prefix}{next(_counter):07d}")


def clock_at(day: date, hour: int = 9) -> FrozenClock:
    return FrozenClock(datetime(day.year, day.month, day.day, hour, tzinfo=UTC))


@dataclass
class Agency:
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    uscc: str = field(default_factory=lambda: uscc("91440703AG"))
    name: str = "江门安信安全技术服务有限公司"
    district_code: str = DISTRICT
    status: str = "approved"
    version: int = 1
    engineers: list[str] = field(default_factory=lambda: ["陈工"])  # the current roster (SPEC §16)

    def event(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "version": self.version,
            "uscc": self.uscc,
            "name": self.name,
            "status": self.status,
            "district_code": self.district_code,
            "registered_engineers": self.engineers,
        }

    def headers(self) -> dict[str, str]:
        return auth("agency", org_uscc=self.uscc)


@dataclass
class Enterprise:
    uscc: str = field(default_factory=lambda: uscc("91440703EN"))
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    name: str = "蓬江五金制品厂"
    district_code: str = DISTRICT
    risk_level: str = "yellow"
    version: int = 1
    town: str | None = None  # a town code (SPEC §22: a town bureau's scope)

    def event(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "version": self.version,
            "uscc": self.uscc,
            "name": self.name,
            "industry": "machinery",
            "district_code": self.district_code,
            "town": self.town,
            "risk_level": self.risk_level,
        }

    def headers(self) -> dict[str, str]:
        return auth("enterprise", org_uscc=self.uscc)


@dataclass
class Contract:
    agency: Agency
    enterprise: Enterprise
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    status: str = "active"
    start_date: date = TODAY - timedelta(days=10)
    end_date: date = TODAY + timedelta(days=354)
    services: list[dict[str, Any]] = field(
        default_factory=lambda: [
            {"item": "hazard_inspection", "times_per_year": 12},
            {"item": "safety_training", "times_per_year": 2},
        ]
    )
    engineer_name: str = "陈工"
    version: int = 5

    @property
    def district_code(self) -> str:
        return self.enterprise.district_code

    def event(self, **changes: Any) -> dict[str, Any]:
        data = {
            "id": self.id,
            "version": self.version,
            "status": self.status,
            "enterprise_uscc": self.enterprise.uscc,
            "agency_id": self.agency.id,
            "agency_name": self.agency.name,
            "enterprise_name": self.enterprise.name,
            "engineer_name": self.engineer_name,
            "district_code": self.district_code,
            "start_date": self.start_date.isoformat(),
            "end_date": self.end_date.isoformat(),
            "services": self.services,
        }
        data.update(changes)
        return data


def bureau(district: str = DISTRICT) -> dict[str, str]:
    return auth("bureau", district=district)


def city() -> dict[str, str]:
    return auth("bureau", district=CITY)


def admin() -> dict[str, str]:
    return auth("admin")


def service_log(
    contract: Contract,
    *,
    visit_date: date | None = None,
    items: list[str] | None = None,
    hazards: list[dict[str, Any]] | None = None,
    summary: str = "例行检查",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "contract_id": contract.id,
        "visit_date": (visit_date or TODAY).isoformat(),
        "engineer_name": "陈工",
        "items": items or ["hazard_inspection"],
        "summary": summary,
        "hazards": hazards or [],
        **extra,
    }


def hazard(level: str = "general", *, deadline: date | None = None, visit_date: date | None = None) -> dict[str, Any]:
    base = visit_date or TODAY
    return {
        "description": "配电箱未接地",
        "level": level,
        "location": "二号车间",
        "deadline": (deadline or base + timedelta(days=20)).isoformat(),
    }


class Harness:
    """A running audit app, its settings and clock, and helpers to feed its read models."""

    def __init__(self, app: Any, client: httpx.AsyncClient, settings: Any, clock: FrozenClock) -> None:
        self.app, self.client, self.settings, self.clock = app, client, settings, clock

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime

    async def publish(self, event_type: str, data: dict[str, Any]) -> None:
        await publish_event(self.settings, event_type, data)

    async def _has(self, model: Any, key: Any, version: int) -> bool:
        column = next(iter(model.__table__.primary_key.columns))
        async with self.runtime.unit_of_work().read() as session:
            row = (await session.execute(sa.select(model).where(column == key))).scalar_one_or_none()
        return row is not None and row.version >= version

    async def feed(self, *things: Any) -> None:
        """Publish each agency / enterprise / contract as its service would, and wait until held."""
        waits = []
        for thing in things:
            if isinstance(thing, Agency):
                await self.publish(f"agency.{thing.status}", thing.event())
                waits.append((AgencyView, uuid.UUID(thing.id), thing.version))
            elif isinstance(thing, Enterprise):
                await self.publish("enterprise.registered", thing.event())
                waits.append((EnterpriseView, thing.uscc, thing.version))
            elif isinstance(thing, Contract):
                await self.publish(
                    f"contract.{'activated' if thing.status == 'active' else thing.status}", thing.event()
                )
                waits.append((ContractView, uuid.UUID(thing.id), thing.version))
        for model, key, version in waits:
            await eventually(lambda m=model, k=key, v=version: self._has(m, k, v), timeout=15)

    async def setup(self, **kw: Any) -> Contract:
        """An approved agency, an enterprise and an active contract between them, all held."""
        agency = kw.pop("agency", None) or Agency()
        enterprise = kw.pop("enterprise", None) or Enterprise()
        contract = Contract(agency=agency, enterprise=enterprise, **kw)
        await self.feed(agency, enterprise, contract)
        return contract

    async def events(self, event_type: str, *, count: int = 1) -> list[Any]:
        async def enough() -> list[Any] | None:
            events = await read_events(self.settings, event_type=event_type)
            return events if len(events) >= count else None

        return await eventually(enough, timeout=15)

    async def emitted(self, event_type: str) -> int:
        """How many events of ``event_type`` this service wrote to its outbox (exact, no waiting)."""
        table = self.runtime.infra.outbox
        async with self.runtime.unit_of_work().read() as session:
            return (
                await session.execute(sa.select(sa.func.count()).select_from(table).where(table.c.type == event_type))
            ).scalar_one()

    async def sweep(self, as_of: date) -> dict[str, Any]:
        r = await self.client.post(f"/api/v1/admin/sweep?service=audit&as_of={as_of.isoformat()}", headers=admin())
        assert r.status_code == 200, r.text
        return r.json()


@asynccontextmanager
async def audit_app(backend: Any, *, today: date = TODAY, **overrides: Any) -> AsyncIterator[Harness]:
    settings = backend.settings(**overrides)
    clock = clock_at(today)
    app = create_app(settings, clock=clock, verifier=verifier())
    async with running(app) as client:
        yield Harness(app, client, settings, clock)


async def log_hazards(h: Harness, contract: Any, *hazards: dict[str, Any]) -> list[str]:
    """A service log of ``contract`` reporting ``hazards``; their ids."""
    r = await h.client.post(
        "/api/v1/service-logs", json=service_log(contract, hazards=list(hazards)), headers=contract.agency.headers()
    )
    assert r.status_code == 201, r.text
    return [hz["id"] for hz in r.json()["hazards"]]


async def evidence(h: Harness, contract: Any) -> list[str]:
    """One photo the enterprise uploaded: what a major hazard's rectification needs (SPEC §16)."""
    from tests.files import png

    r = await h.client.post(
        "/api/v1/attachments",
        files={"file": ("p.png", png(next(_counter)), "image/png")},
        headers=contract.enterprise.headers(),
    )
    assert r.status_code == 201, r.text
    return [r.json()["id"]]
