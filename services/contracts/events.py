"""The events the contracts service emits (catalog: ``ContractChanged``).

Each status a contract enters has at most one event type; states other services need not know
about (``draft``, ``filing``, ``cancelled``) emit nothing (docs/DECISIONS.md).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.events.outbox import Outbox

from services.contracts.models import Contract

EVENT_OF_STATUS = {
    "signed": "contract.signed",
    "filed": "contract.filed",
    "active": "contract.activated",
    "rejected": "contract.rejected",
    "suspended": "contract.suspended",
    "terminated": "contract.terminated",
    "expired": "contract.expired",
}


def payload(contract: Contract, *, reason: str | None = None, previous_status: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(contract.id),
        "version": contract.version,
        "status": contract.status,
        "enterprise_uscc": contract.enterprise_uscc,
        "enterprise_id": contract.enterprise_id,
        "enterprise_name": contract.enterprise_name,
        "agency_id": str(contract.agency_id),
        "agency_uscc": contract.agency_uscc,
        "agency_name": contract.agency_name,
        "engineer_name": contract.engineer_name,
        "district_code": contract.district_code,
        "start_date": contract.start_date,
        "end_date": contract.end_date,
        "services": [dict(s) for s in contract.services],
        "filing_no": contract.filing_no,
        "risk_flagged": contract.risk_flagged,
        "reason": reason,
    }
    if previous_status is not None:
        data["previous_status"] = previous_status
    return data


async def emit(outbox: Outbox, session: AsyncSession, event_type: str, contract: Contract, *,
               reason: str | None = None, previous_status: str | None = None) -> None:
    await outbox.emit(session, event_type, payload(contract, reason=reason, previous_status=previous_status))
