"""Read models fed by other services' events: contracts, agencies, enterprises.

Each handler runs inside the inbox transaction and ignores an event older than what it holds
(``data.version`` lower than the stored version)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from shared.clock import utcnow
from shared.events.envelope import CloudEvent
from shared.events.inbox import Handler

from services.audit.models import AgencyView, ContractView, EnterpriseView

log = structlog.get_logger("audit.readmodels")

AGENCY_STATUS_EVENTS = ("submitted", "approved", "rejected", "suspended", "reinstated", "revoked", "expired")


async def _upsert(session: AsyncSession, model: Any, key: Any, version: int, values: dict[str, Any], event: CloudEvent) -> None:
    column = list(model.__table__.primary_key.columns)[0]
    current = (await session.execute(sa.select(model).where(column == key).with_for_update())).scalar_one_or_none()
    if current is None:
        session.add(model(**values))
        return
    if version < current.version:
        log.info("audit.readmodel.stale_event_ignored", event_type=event.type, entity=str(key), version=version,
                 held=current.version)
        return
    for name, value in values.items():
        setattr(current, name, value)


async def on_contract(session: AsyncSession, event: CloudEvent) -> None:
    d = event.data
    services = [{"item": str(s.get("item")), "times_per_year": int(s.get("times_per_year", 0))}
                for s in d.get("services") or [] if isinstance(s, dict) and s.get("item")]
    values = {
        "id": uuid.UUID(d["id"]), "version": int(d["version"]), "status": d["status"],
        "agency_id": uuid.UUID(d["agency_id"]), "agency_name": d.get("agency_name"),
        "enterprise_uscc": d["enterprise_uscc"], "enterprise_name": d.get("enterprise_name"),
        "engineer_name": d["engineer_name"], "district_code": d["district_code"],
        "start_date": date.fromisoformat(d["start_date"]), "end_date": date.fromisoformat(d["end_date"]),
        "services": services, "updated_at": utcnow(),
    }
    await _upsert(session, ContractView, values["id"], values["version"], values, event)


async def on_agency(session: AsyncSession, event: CloudEvent) -> None:
    d = event.data
    values = {"id": uuid.UUID(d["id"]), "version": int(d["version"]), "uscc": d["uscc"], "name": d["name"],
              "district_code": d["district_code"], "status": d["status"], "updated_at": utcnow()}
    await _upsert(session, AgencyView, values["id"], values["version"], values, event)


async def on_enterprise(session: AsyncSession, event: CloudEvent) -> None:
    d = event.data
    values = {"uscc": d["uscc"], "id": str(d["id"]), "version": int(d["version"]), "name": d["name"],
              "district_code": d["district_code"], "risk_level": d["risk_level"], "updated_at": utcnow()}
    await _upsert(session, EnterpriseView, values["uscc"], values["version"], values, event)


HANDLERS: dict[str, Handler] = {
    "contract.*": on_contract,
    **{f"agency.{s}": on_agency for s in AGENCY_STATUS_EVENTS},  # not agency.credit_changed: that is ours
    "enterprise.*": on_enterprise,
}
