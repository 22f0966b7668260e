"""What the registry emits: one ``agency.<event>`` per status change of a filing (the type is the
state machine's, states.AGENCY; the payload the catalog's ``AgencyStatusChanged``), built from the
filing and its staff so that consumers — the contracts service builds its read model from them —
get everything without calling us."""

from __future__ import annotations

from services.registry.models import Agency
from shared.events.catalog import AgencyStatusChanged


def agency_changed(
    agency: Agency, *, previous_status: str, reason: str | None, filing_in_force: bool
) -> AgencyStatusChanged:
    """``filing_in_force``: the agency is in the public directory (approved, or approved and
    applying for renewal with its current filing still valid)."""
    return AgencyStatusChanged(
        id=str(agency.id),
        version=agency.version,
        uscc=agency.uscc,
        name=agency.name,
        status=agency.status,
        previous_status=previous_status,
        district_code=agency.district_code,
        service_districts=list(agency.service_districts),
        service_industries=list(agency.service_industries),
        registered_engineers=agency.registered_engineers,
        filing_no=agency.filing_no,
        valid_until=agency.valid_until,
        filing_in_force=filing_in_force,
        reason=reason or None,
        noncompliant=agency.noncompliant,
    )
