"""Builders for contracts tests: agencies and enterprises fed to the service as real events, tokens
for each party, and contract bodies that pass every creation rule unless told otherwise."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from devtools.testing.apps import running
from devtools.testing.events import publish_event
from devtools.testing.tokens import auth, verifier
from devtools.testing.wait import eventually
from services.contracts.main import create_app
from services.contracts.models import AgencyFacts, EnterpriseFacts
from shared.clock import FrozenClock
from shared.reference import USCC_ALPHABET, make_uscc
from shared.settings import Settings

TODAY = date(2026, 3, 2)
START = date(2026, 4, 1)
END = date(2027, 3, 31)
DISTRICT = "440703"  # 蓬江区
OTHER_DISTRICT = "440704"  # 江海区
CITY = "440700"
ENGINEERS = ["张伟", "李娜"]


def policy_file(folder: Path, **overrides: Any) -> Path:
    """A published policy overriding some defaults (CUSTODY_POLICY_FILE)."""
    path = folder / "policy-override.json"
    path.write_text(json.dumps(overrides), encoding="utf-8")
    return path


def new_uscc() -> str:
    return make_uscc("9144" + "".join(random.choice(USCC_ALPHABET[:10]) for _ in range(13)))


def frozen(day: date = TODAY) -> FrozenClock:
    return FrozenClock(datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC))


def agency_data(
    agency_id: str,
    uscc: str,
    *,
    status: str = "approved",
    version: int = 2,
    name: str = "江门安信安全技术服务有限公司",
    districts: list[str] | None = None,
    industries: list[str] | None = None,
    engineers: list[str] | None = None,
    reason: str | None = None,
    filing_in_force: bool | None = None,
) -> dict[str, Any]:
    return {
        "id": agency_id,
        "version": version,
        "uscc": uscc,
        "name": name,
        "status": status,
        "district_code": DISTRICT,
        "service_districts": districts if districts is not None else [DISTRICT, OTHER_DISTRICT],
        "service_industries": industries
        if industries is not None
        else ["machinery", "light_industry", "hazardous_chemicals"],
        "registered_engineers": engineers if engineers is not None else list(ENGINEERS),
        "filing_no": "JM-TG-2026-0001",
        "valid_until": "2029-03-01",
        "reason": reason,
        **({"filing_in_force": filing_in_force} if filing_in_force is not None else {}),
    }


def enterprise_data(
    uscc: str,
    *,
    enterprise_id: str | None = None,
    version: int = 1,
    risk_level: str = "yellow",
    industry: str = "machinery",
    district: str = DISTRICT,
    name: str = "江门市蓬江区示例五金厂",
    town: str | None = None,
) -> dict[str, Any]:
    return {
        "id": enterprise_id or str(uuid.uuid4()),
        "version": version,
        "uscc": uscc,
        "name": name,
        "industry": industry,
        "district_code": district,
        "town": town,
        "risk_level": risk_level,
    }


def contract_body(
    agency_id: str,
    enterprise_uscc: str,
    *,
    engineer: str = ENGINEERS[0],
    inspections: int = 4,
    start: date = START,
    end: date = END,
    fee: str = "24000.00",
    extra_services: bool = True,
) -> dict[str, Any]:
    services = [{"item": "hazard_inspection", "times_per_year": inspections}]
    if extra_services:
        services.append({"item": "safety_training", "times_per_year": 2})
    return {
        "enterprise_uscc": enterprise_uscc,
        "agency_id": agency_id,
        "engineer_name": engineer,
        "services": services,
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "fee_yuan": fee,
    }


@dataclass
class World:
    """One running contracts service with an agency and an enterprise known to its read models."""

    settings: Settings
    app: Any
    client: httpx.AsyncClient
    clock: FrozenClock
    agency_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    agency_uscc: str = field(default_factory=new_uscc)
    enterprise_uscc: str = field(default_factory=new_uscc)
    agency_version: int = 2
    enterprise_version: int = 1

    # tokens ---------------------------------------------------------------------------------
    def agency(self, uscc: str | None = None, **kw: Any) -> dict[str, str]:
        return auth("agency", org_uscc=uscc or self.agency_uscc, username="agency-signer", **kw)

    def enterprise(self, uscc: str | None = None, **kw: Any) -> dict[str, str]:
        return auth("enterprise", org_uscc=uscc or self.enterprise_uscc, username="enterprise-signer", **kw)

    def bureau(self, district: str = DISTRICT) -> dict[str, str]:
        return auth("bureau", district=district, username=f"bureau-{district}")

    def admin(self) -> dict[str, str]:
        return auth("admin")

    # read models through real events ------------------------------------------------------------
    async def publish(self, event_type: str, data: dict[str, Any]) -> None:
        await publish_event(self.settings, event_type, data)

    async def agency_event(
        self,
        event_type: str = "agency.approved",
        *,
        agency_id: str | None = None,
        uscc: str | None = None,
        wait: bool = True,
        **kw: Any,
    ) -> dict[str, Any]:
        if "version" not in kw:
            self.agency_version += 1
            kw["version"] = self.agency_version
        kw.setdefault("status", event_type.split(".", 1)[1].replace("reinstated", "approved"))
        data = agency_data(agency_id or self.agency_id, uscc or self.agency_uscc, **kw)
        await self.publish(event_type, data)
        if wait:
            await self.wait_agency(data["id"], data["version"])
        return data

    async def enterprise_event(
        self, event_type: str = "enterprise.registered", *, uscc: str | None = None, wait: bool = True, **kw: Any
    ) -> dict[str, Any]:
        if "version" not in kw:
            self.enterprise_version += 1
            kw["version"] = self.enterprise_version
        data = enterprise_data(uscc or self.enterprise_uscc, **kw)
        await self.publish(event_type, data)
        if wait:
            await self.wait_enterprise(data["uscc"], data["version"])
        return data

    async def processed(self, n: int) -> None:
        await eventually(lambda: self.app.state.runtime.subscriber.processed_total >= n, timeout=15)

    async def wait_agency(self, agency_id: str, version: int) -> None:
        async def check() -> bool:
            async with self.app.state.runtime.unit_of_work().read() as s:
                v = (
                    await s.execute(sa.select(AgencyFacts.version).where(AgencyFacts.id == uuid.UUID(agency_id)))
                ).scalar()
            return v is not None and v >= version

        await eventually(check, timeout=15)

    async def wait_enterprise(self, uscc: str, version: int) -> None:
        async def check() -> bool:
            async with self.app.state.runtime.unit_of_work().read() as s:
                v = (await s.execute(sa.select(EnterpriseFacts.version).where(EnterpriseFacts.uscc == uscc))).scalar()
            return v is not None and v >= version

        await eventually(check, timeout=15)

    async def setup_parties(self, *, risk_level: str = "yellow", **agency_kw: Any) -> None:
        await self.agency_event("agency.approved", **agency_kw)
        await self.enterprise_event("enterprise.registered", risk_level=risk_level, version=1)

    # contracts ----------------------------------------------------------------------------------
    def body(self, **kw: Any) -> dict[str, Any]:
        return contract_body(self.agency_id, self.enterprise_uscc, **kw)

    async def create(self, *, as_enterprise: bool = False, **kw: Any) -> dict[str, Any]:
        headers = self.enterprise() if as_enterprise else self.agency()
        r = await self.client.post("/api/v1/contracts", json=self.body(**kw), headers=headers)
        assert r.status_code == 201, r.text
        return r.json()

    async def post(self, contract_id: str, verb: str, headers: dict[str, str], json: Any = None) -> httpx.Response:
        return await self.client.post(f"/api/v1/contracts/{contract_id}/{verb}", json=json, headers=headers)

    async def get(self, contract_id: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        r = await self.client.get(f"/api/v1/contracts/{contract_id}", headers=headers or self.admin())
        assert r.status_code == 200, r.text
        return r.json()

    async def sign(
        self, contract_id: str, headers: dict[str, str], *, content_sha256: str | None = None
    ) -> httpx.Response:
        """A party signs the terms it has read, naming their hash (SPEC §9 v2); ``content_sha256``
        given: the terms the caller read earlier."""
        if content_sha256 is None:
            content_sha256 = (await self.get(contract_id))["content_sha256"]
        return await self.post(contract_id, "sign", headers, {"content_sha256": content_sha256})

    async def signed(self, **kw: Any) -> dict[str, Any]:
        c = await self.create(**kw)
        assert (await self.sign(c["id"], self.agency())).status_code == 200
        r = await self.sign(c["id"], self.enterprise())
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "signed", r.text
        return r.json()

    async def filing(self, **kw: Any) -> dict[str, Any]:
        c = await self.signed(**kw)
        r = await self.post(c["id"], "file", self.enterprise())
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "filing", r.text
        return r.json()

    async def filed(self, **kw: Any) -> dict[str, Any]:
        c = await self.filing(**kw)
        r = await self.post(c["id"], "filing-review", self.bureau(), {"decision": "accept", "comments": "同意备案"})
        assert r.status_code == 200, r.text
        return r.json()

    async def active(self, **kw: Any) -> dict[str, Any]:
        kw.setdefault("start", TODAY)
        kw.setdefault("end", date(TODAY.year + 1, TODAY.month, TODAY.day - 1))
        c = await self.filed(**kw)
        assert c["status"] == "active", c
        return c


@asynccontextmanager
async def world(
    settings: Settings, *, clock: FrozenClock | None = None, parties: bool = True, **party_kw: Any
) -> AsyncIterator[World]:
    clock = clock or frozen()
    app = create_app(settings, clock=clock, verifier=verifier())
    async with running(app) as client:
        w = World(settings=settings, app=app, client=client, clock=clock)
        if parties:
            await w.setup_parties(**party_kw)
        yield w
