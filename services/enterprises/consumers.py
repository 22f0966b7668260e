"""What the enterprises service consumes (each handler runs inside the inbox transaction).

- ``contract.activated`` / ``contract.suspended`` / ``contract.terminated`` / ``contract.expired``:
  the contract's row in ``custody_contracts`` takes the event's status, unless the event's
  ``version`` is not newer than the row's (stale or duplicate → ignored). The enterprise's
  custodian is then recomputed: an ``active`` contract (the latest-ending one if ever several),
  else a ``suspended`` one — a suspended contract still binds its agency and comes back to
  ``active`` on reinstatement, so the bureau keeps seeing who holds the enterprise, marked
  ``status: suspended`` — else none.
- ``hazard.reported`` / ``hazard.verified`` of level ``major``: the hazard's row in
  ``major_hazards`` (keyed by hazard id, so a redelivery changes nothing) takes the event's status
  unless stale; a major hazard that is not verified raises its enterprise's risk (risk.py). General
  hazards are ignored.

Events about a USCC that is not registered here (yet) are kept in those tables and take effect
when the enterprise is registered or imported; they never fail.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from shared.clock import Clock
from shared.events.catalog import ContractChanged, HazardChanged
from shared.events.envelope import CloudEvent
from shared.events.inbox import Handler
from shared.events.outbox import Outbox
from shared.policy import Policy

from services.enterprises.models import custody_contracts as contracts_t
from services.enterprises.models import major_hazards as hazards_t
from services.enterprises.service import refresh_enterprise

log = structlog.get_logger("enterprises.consumers")

CONTRACT_STATUS = {"contract.activated": "active", "contract.suspended": "suspended",
                   "contract.terminated": "terminated", "contract.expired": "expired"}
CONTRACT_EVENTS = tuple(CONTRACT_STATUS)
HAZARD_EVENTS = ("hazard.reported", "hazard.verified")


async def _upsert_if_newer(session: AsyncSession, table: sa.Table, key: sa.Column, key_value: str,
                           values: dict[str, Any]) -> bool:
    """Insert the row, or update it when ``values['version']`` is newer; False for a stale event."""
    stmt = sa.select(table.c.version).where(key == key_value)
    if session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    stored = (await session.execute(stmt)).scalar()
    if stored is None:
        await session.execute(sa.insert(table).values(**values))
        return True
    if values["version"] <= stored:
        return False
    await session.execute(sa.update(table).where(key == key_value).values(**values))
    return True


def make_handlers(*, policy: Policy, outbox: Outbox, clock: Clock) -> dict[str, Handler]:
    async def on_contract(session: AsyncSession, event: CloudEvent) -> None:
        data = ContractChanged.model_validate(event.data)
        status = CONTRACT_STATUS[event.type]
        fresh = await _upsert_if_newer(session, contracts_t, contracts_t.c.contract_id, data.id, {
            "contract_id": data.id, "enterprise_uscc": data.enterprise_uscc, "agency_id": data.agency_id,
            "agency_name": data.agency_name, "status": status, "start_date": data.start_date, "end_date": data.end_date,
            "version": data.version, "updated_at": clock.now(),
        })
        if not fresh:
            log.info("enterprises.contract_event.stale", contract_id=data.id, version=data.version)
            return
        outcome = await refresh_enterprise(session, outbox=outbox, policy=policy, now=clock.now(), uscc=data.enterprise_uscc)
        log.info("enterprises.custody.updated", contract_id=data.id, status=status, uscc=data.enterprise_uscc,
                 outcome=outcome or "unchanged")

    async def on_hazard(session: AsyncSession, event: CloudEvent) -> None:
        data = HazardChanged.model_validate(event.data)
        if data.level != "major":
            return
        status = "verified" if event.type == "hazard.verified" else data.status
        fresh = await _upsert_if_newer(session, hazards_t, hazards_t.c.hazard_id, data.id, {
            "hazard_id": data.id, "enterprise_uscc": data.enterprise_uscc, "contract_id": data.contract_id,
            "status": status, "version": data.version, "updated_at": clock.now(),
        })
        if not fresh:
            log.info("enterprises.hazard_event.stale", hazard_id=data.id, version=data.version)
            return
        outcome = await refresh_enterprise(session, outbox=outbox, policy=policy, now=clock.now(), uscc=data.enterprise_uscc)
        log.info("enterprises.major_hazard.updated", hazard_id=data.id, status=status, uscc=data.enterprise_uscc,
                 outcome=outcome or "unchanged")

    return {**{name: on_contract for name in CONTRACT_EVENTS}, **{name: on_hazard for name in HAZARD_EVENTS}}
