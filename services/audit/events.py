"""What the audit service emits: each entity's event payload as the catalog's model
(shared.events.catalog). Payloads carry a few fields beyond the catalog's (the catalog models allow
extra context): a service log's and a hazard's district, a hazard's service log, a missed visit's
district and enterprise, a completed audit's district."""

from __future__ import annotations

from datetime import date
from typing import Any, TypeVar

from services.audit.models import (
    AuditTask,
    Complaint,
    ContractView,
    CreditFile,
    CreditListing,
    Hazard,
    Report,
    ServiceLog,
    SupervisionCase,
)
from services.audit.repository import event_town
from shared.clock import as_utc
from shared.events.catalog import (
    AgencyCreditChanged,
    AuditCompleted,
    ComplaintChanged,
    CreditListingChanged,
    EventData,
    HazardChanged,
    ReportChanged,
    ServiceLogChanged,
    SupervisionChanged,
    VisitMissed,
)

Payload = TypeVar("Payload", bound=EventData)


async def located(session: Any, payload: Payload) -> Payload:
    """The payload with its enterprise's ``town`` (SPEC §22: notify tells the town's bureau), read
    from the enterprises read model when the payload does not name one. An anonymous complaint
    is located by its contract only: never by the complainant it does not name."""
    data = payload.model_dump()
    if data.get("town") is None:
        town = await event_town(
            session,
            enterprise_uscc=data.get("enterprise_uscc"),
            contract_id=data.get("contract_id"),
            complainant_uscc=data.get("complainant_uscc"),
        )
        if town is not None:
            payload.town = town  # type: ignore[attr-defined]
    return payload


def service_log_changed(entry: ServiceLog) -> ServiceLogChanged:
    return ServiceLogChanged(
        id=str(entry.id),
        version=entry.version,
        contract_id=str(entry.contract_id),
        agency_id=str(entry.agency_id),
        enterprise_uscc=entry.enterprise_uscc,
        visit_date=entry.visit_date,
        items=list(entry.items),
        confirmed=entry.confirmed,
        district_code=entry.district_code,
        dispute_reason=entry.dispute_reason,
    )


def hazard_changed(hazard: Hazard) -> HazardChanged:
    return HazardChanged(
        id=str(hazard.id),
        version=hazard.version,
        contract_id=str(hazard.contract_id),
        agency_id=str(hazard.agency_id),
        enterprise_uscc=hazard.enterprise_uscc,
        district_code=hazard.district_code,
        level=str(hazard.level),
        status=str(hazard.status),
        deadline=hazard.deadline,
        verified_late=hazard.verified_late,
        service_log_id=str(hazard.service_log_id),
    )


def visit_missed(contract: ContractView, *, item: str, missed: int, as_of: date) -> VisitMissed:
    """The ``missed``-th missed visit of ``item`` (also the event's version: one event per visit)."""
    return VisitMissed(
        id=str(contract.id),
        version=missed,
        contract_id=str(contract.id),
        agency_id=str(contract.agency_id),
        item=item,
        missed=missed,
        as_of=as_of,
        district_code=contract.district_code,
        enterprise_uscc=contract.enterprise_uscc,
    )


def audit_completed(task: AuditTask) -> AuditCompleted:
    assert task.total is not None  # a completed task has its total
    return AuditCompleted(
        id=str(task.id),
        version=task.version,
        contract_id=str(task.contract_id),
        agency_id=str(task.agency_id),
        total=task.total,
        fraud=task.fraud,
        period=task.period,
        district_code=task.district_code,
    )


def complaint_changed(complaint: Complaint) -> ComplaintChanged:
    return ComplaintChanged(
        id=str(complaint.id),
        version=complaint.version,
        agency_id=str(complaint.agency_id),
        status=str(complaint.status),
        category=str(complaint.category),
        district_code=complaint.district_code,
        contract_id=str(complaint.contract_id) if complaint.contract_id else None,
        outcome=str(complaint.outcome) if complaint.outcome else None,
        response_due=complaint.response_due,
        # notify tells the complainant (SPEC §15); an anonymous one stays unnamed on the bus, whose
        # events reach the agency's webhooks too (it follows its complaint by tracking code)
        complainant_uscc=None if complaint.anonymous else complaint.complainant_uscc,
    )


def report_changed(report: Report) -> ReportChanged:
    """A public report (SPEC §22), with its outcome once closed."""
    return ReportChanged(
        id=str(report.id),
        version=report.version,
        district_code=report.district_code,
        town=report.town,
        category=report.category.value,
        enterprise_name=report.enterprise_name,
        enterprise_uscc=report.enterprise_uscc,
        status=str(report.status),
        outcome=str(report.outcome) if report.outcome else None,
    )


def credit_changed(file: CreditFile, *, delta: int, cause: str) -> AgencyCreditChanged:
    """``id`` is the agency's; ``version`` counts its credit changes."""
    return AgencyCreditChanged(
        id=str(file.agency_id), version=file.version, score=file.score, grade=file.grade, delta=delta, cause=cause
    )


def supervision_changed(case: SupervisionCase) -> SupervisionChanged:
    """``deadline`` is the bureau's listed deadline; beyond the catalog: the case's clock."""
    return SupervisionChanged(
        id=str(case.id),
        version=case.version,
        hazard_id=str(case.hazard_id),
        enterprise_uscc=case.enterprise_uscc,
        district_code=case.district_code,
        status=str(case.status),
        agency_id=str(case.agency_id),
        deadline=case.deadline,
        contract_id=str(case.contract_id),
        opened_at=as_utc(case.opened_at).isoformat(),
        ack_due_at=as_utc(case.ack_due_at).isoformat(),
        escalated=case.escalated_at is not None,
    )


def listing_changed(listing: CreditListing) -> CreditListingChanged:
    """A serious-dishonesty listing; beyond the catalog's fields its dates and district (registry and
    contracts keep who is on the list from these)."""
    return CreditListingChanged(
        id=str(listing.id),
        version=listing.version,
        org_uscc=listing.uscc,
        org_kind=listing.org_kind.value,
        status=str(listing.status),
        reason=listing.reason,
        objection_until=listing.objection_until,
        name=listing.name,
        district_code=listing.district_code,
        listed_at=listing.listed_at,
        until=listing.until,
    )
