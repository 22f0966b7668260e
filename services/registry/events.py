"""What the registry emits: one ``agency.<event>`` per status change of a filing (the type is the
state machine's, states.AGENCY; the payload the catalog's ``AgencyStatusChanged``), built from the
filing and its staff so that consumers — the contracts service builds its read model from them —
get everything without calling us."""

from __future__ import annotations

from datetime import UTC, date, datetime

from services.registry.models import ENGINEER, Agency
from shared.events.catalog import AgencyStatusChanged
from shared.validation import normalise


def engineers_in_force(agency: Agency, today: date) -> list[str]:
    """The names of its registered safety engineers whose certificate is valid on ``today`` (no
    expiry date given: valid), normalised (NFKC, no format characters): the roster audit checks a
    visit's engineer against (SPEC §16)."""
    return [
        normalise(s.name).strip()
        for s in agency.staff
        if s.role == ENGINEER
        and not s.lapsed  # the expiry sweep's verdict (SPEC §18), as of its own as_of
        and (s.certificate_valid_until is None or s.certificate_valid_until >= today)
    ]


def agency_changed(
    agency: Agency, *, previous_status: str, reason: str | None, filing_in_force: bool, today: date | None = None
) -> AgencyStatusChanged:
    """``filing_in_force``: the agency is in the public directory (approved, or approved and
    applying for renewal with its current filing still valid). ``today``: the day certificates are
    judged valid on (the caller's clock; UTC today by default)."""
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
        registered_engineers=engineers_in_force(agency, today or datetime.now(UTC).date()),
        filing_no=agency.filing_no,
        valid_until=agency.valid_until,
        filing_in_force=filing_in_force,
        reason=reason or None,
        noncompliant=agency.noncompliant,
    )
