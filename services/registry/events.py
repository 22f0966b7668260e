"""What the registry emits: one ``agency.<status>`` event per status change (catalog:
``AgencyStatusChanged``), built from the agency row and its staff so that consumers — the
contracts service builds its read model from them — get everything without calling us."""

from __future__ import annotations

from typing import Any, Iterable

from services.registry.models import Agency, AgencyStaff
from services.registry.schemas import ENGINEER

# action -> event type (the SPEC's list, plus agency.needs_more_info for request_changes)
EVENT_OF_ACTION = {
    "submit": "agency.submitted",
    "approve": "agency.approved",
    "reject": "agency.rejected",
    "request_changes": "agency.needs_more_info",
    "suspend": "agency.suspended",
    "reinstate": "agency.reinstated",
    "revoke": "agency.revoked",
    "expire": "agency.expired",
}


def engineer_names(staff: Iterable[AgencyStaff]) -> list[str]:
    return [s.name for s in staff if s.role == ENGINEER]


def status_event_data(agency: Agency, staff: Iterable[AgencyStaff], *, previous_status: str,
                      reason: str | None = None, filing_in_force: bool) -> dict[str, Any]:
    return {
        "id": str(agency.id),
        "version": agency.version,
        "uscc": agency.uscc,
        "name": agency.name,
        "status": agency.status,
        "previous_status": previous_status,
        "district_code": agency.district_code,
        "service_districts": list(agency.service_districts),
        "service_industries": list(agency.service_industries),
        "registered_engineers": engineer_names(staff),
        "filing_no": agency.filing_no,
        "valid_until": agency.valid_until.isoformat() if agency.valid_until else None,
        "filing_in_force": filing_in_force,
        "reason": reason or None,
    }
