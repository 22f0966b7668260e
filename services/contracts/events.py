"""What the contracts service emits: one payload, ``ContractChanged`` (shared/events/catalog.py),
for every contract event. Which event a step emits is declared in states.py; the use case emits
it with ``uow.emit``.

The payload carries the contract's state after the step (with its ``version``), the parties
(``agency_uscc``, ``drafted_by``, ``enterprise_signed`` — the enterprises service decides from
them what an agency may see of an enterprise), the reason a person or a cascade gave and, for a
step that left a state, the state it left (``previous_status``).
"""

from __future__ import annotations

from typing import Any

from services.contracts.models import Contract
from shared.events.catalog import ContractChanged


def contract_changed(
    contract: Contract, *, reason: str | None = None, previous_status: str | None = None
) -> ContractChanged:
    """The payload of a contract event (``contract.signature_records`` loaded)."""
    data: dict[str, Any] = {
        "id": str(contract.id),
        "version": contract.version,
        "status": contract.status,
        "enterprise_uscc": contract.enterprise_uscc,
        "enterprise_id": contract.enterprise_id,  # beyond the catalog's fields: producers may add context
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
        "drafted_by": contract.drafted_by,
        "enterprise_signed": contract.enterprise_signed,
    }
    if previous_status is not None:
        data["previous_status"] = previous_status
    return ContractChanged.model_validate(data)
