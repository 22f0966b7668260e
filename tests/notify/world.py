"""A small world for the notify tests: bureaus of two districts, a town and the city, two
agencies (the first with two member accounts), two enterprises, admin, and one contract — made
known to notify the way production will: by the gateway's ``account.*`` events and the
services' events (published on the real bus)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from devtools.testing.events import publish_event
from devtools.testing.tokens import auth
from shared.reference import make_uscc
from shared.settings import Settings

TODAY = date.today()
OLD = datetime.now(UTC) - timedelta(days=30)  # feeds read models, tells nobody (rules.BACKLOG_DAYS)


@dataclass(frozen=True)
class Person:
    name: str
    id: str
    role: str
    org_uscc: str | None = None
    district: str | None = None
    email: str | None = None
    language: str = "zh-CN"

    @property
    def headers(self) -> dict[str, str]:
        return auth(self.role, sub=self.id, org_uscc=self.org_uscc, district=self.district, username=self.name)

    def account(self, version: int = 1) -> dict[str, Any]:
        return {
            "id": self.id,
            "version": version,
            "username": self.name,
            "role": self.role,
            "org_uscc": self.org_uscc,
            "district": self.district,
            "email": self.email,
            "language": self.language,
            "display_name": self.name,
        }


def _uscc(tag: str) -> str:
    return make_uscc("91440703MA5" + uuid.uuid4().hex[:4].upper() + tag)


class World:
    def __init__(self) -> None:
        self.UA1, self.UA2, self.UE1, self.UE2 = _uscc("A1"), _uscc("A2"), _uscc("E1"), _uscc("E2")
        self.agency1, self.agency2 = str(uuid.uuid4()), str(uuid.uuid4())
        self.contract = str(uuid.uuid4())
        p = Person
        self.people = {
            "B703": p("B703", str(uuid.uuid4()), "bureau", district="440703", email="b703@example.test"),
            "B704": p("B704", str(uuid.uuid4()), "bureau", district="440704"),
            "TOWN": p("TOWN", str(uuid.uuid4()), "bureau", district="440704001"),
            "CITY": p("CITY", str(uuid.uuid4()), "bureau", district="440700", language="en"),
            "A1a": p("A1a", str(uuid.uuid4()), "agency", org_uscc=self.UA1, email="a1a@example.test"),
            "A1b": p("A1b", str(uuid.uuid4()), "agency", org_uscc=self.UA1),
            "A2": p("A2", str(uuid.uuid4()), "agency", org_uscc=self.UA2),
            "E1": p("E1", str(uuid.uuid4()), "enterprise", org_uscc=self.UE1, email="e1@example.test", language="en"),
            "E2": p("E2", str(uuid.uuid4()), "enterprise", org_uscc=self.UE2),
            "ADMIN": p("ADMIN", str(uuid.uuid4()), "admin"),
            # two town bureaus of 蓬江区 440703 (SPEC §22): 环市街道 and its neighbour 潮连街道
            "T703": p("T703", str(uuid.uuid4()), "bureau", district="440703001"),
            "T703N": p("T703N", str(uuid.uuid4()), "bureau", district="440703002"),
        }

    def __getitem__(self, name: str) -> Person:
        return self.people[name]

    # --- event data -----------------------------------------------------------------------
    def agency(self, status: str = "approved", *, which: int = 1, version: int = 1, **extra: Any) -> dict[str, Any]:
        return {
            "id": self.agency1 if which == 1 else self.agency2,
            "version": version,
            "uscc": self.UA1 if which == 1 else self.UA2,
            "name": f"江门安泰{which}",
            "status": status,
            "district_code": "440703",
            "filing_no": "JM-TG-2026-0001",
            "valid_until": (TODAY + timedelta(days=700)).isoformat(),
            **extra,
        }

    def contract_data(self, status: str = "active", *, version: int = 1, **extra: Any) -> dict[str, Any]:
        return {
            "id": self.contract,
            "version": version,
            "status": status,
            "enterprise_uscc": self.UE1,
            "agency_id": self.agency1,
            "agency_uscc": self.UA1,
            "engineer_name": "陈工",
            "district_code": "440703",
            "start_date": TODAY.isoformat(),
            "end_date": (TODAY + timedelta(days=365)).isoformat(),
            "agency_name": "江门安泰1",
            "enterprise_name": "宏达五金",
            **extra,
        }

    def hazard(
        self,
        status: str = "open",
        *,
        level: str = "general",
        version: int = 1,
        deadline: date | None = None,
        hazard_id: str | None = None,
    ) -> dict[str, Any]:
        return {
            "id": hazard_id or str(uuid.uuid4()),
            "version": version,
            "contract_id": self.contract,
            "agency_id": self.agency1,
            "enterprise_uscc": self.UE1,
            "district_code": "440703",
            "level": level,
            "status": status,
            "deadline": (deadline or TODAY + timedelta(days=30)).isoformat(),
        }

    def complaint(
        self, status: str, *, version: int = 1, complaint_id: str | None = None, response_due: date | None = None
    ) -> dict[str, Any]:
        return {
            "id": complaint_id or str(uuid.uuid4()),
            "version": version,
            "agency_id": self.agency1,
            "status": status,
            "category": "service_quality",
            "district_code": "440703",
            "contract_id": self.contract,
            "complainant_uscc": self.UE1,
            "response_due": response_due.isoformat() if response_due else None,
        }


async def seed(settings: Settings, world: World) -> None:
    """Accounts and read models, as old events (nobody is told of them)."""
    for person in world.people.values():
        await publish_event(settings, "account.registered", person.account())
    await publish_event(settings, "agency.approved", world.agency(which=1), time=OLD)
    await publish_event(settings, "agency.approved", world.agency(which=2), time=OLD)
    await publish_event(settings, "contract.activated", world.contract_data(), time=OLD)
