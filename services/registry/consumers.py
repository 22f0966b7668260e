"""What the registry consumes (each handler runs in the inbox transaction, so a duplicate delivery
is skipped; each also ignores stale versions, so order does not matter):

- ``agency.credit_changed`` → the agency's score and grade (kept even if it is not listed yet).
- ``contract.activated`` → the contract counts towards its agency's active contracts;
  ``contract.terminated`` / ``contract.expired`` → it no longer does. One row per contract with
  the newest version seen: a late ``activated`` after a ``terminated`` changes nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from shared.clock import utcnow
from shared.db import dialect_insert
from shared.events.catalog import AgencyCreditChanged, ContractChanged
from shared.events.envelope import CloudEvent
from shared.events.inbox import Handler

from services.registry.models import AgencyCredit, ContractTally


async def _upsert_newer(session: AsyncSession, table: sa.Table, key: str, values: dict[str, Any]) -> None:
    stmt = dialect_insert(session)(table).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c[key]],
        set_={k: stmt.excluded[k] for k in values if k != key},
        where=table.c.version < stmt.excluded.version,
    )
    await session.execute(stmt)


async def on_credit_changed(session: AsyncSession, event: CloudEvent) -> None:
    data = AgencyCreditChanged.model_validate(event.data)
    await _upsert_newer(session, AgencyCredit.__table__, "agency_id", {
        "agency_id": uuid.UUID(data.id), "score": data.score, "grade": data.grade, "version": data.version,
        "updated_at": utcnow(),
    })


async def on_contract(session: AsyncSession, event: CloudEvent) -> None:
    data = ContractChanged.model_validate(event.data)
    await _upsert_newer(session, ContractTally.__table__, "contract_id", {
        "contract_id": uuid.UUID(data.id), "agency_id": uuid.UUID(data.agency_id),
        "active": event.type == "contract.activated", "version": data.version, "updated_at": utcnow(),
    })


HANDLERS: dict[str, Handler] = {
    "agency.credit_changed": on_credit_changed,
    "contract.activated": on_contract,
    "contract.terminated": on_contract,
    "contract.expired": on_contract,
}
