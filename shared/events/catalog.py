"""The typed catalog of every event type on the bus (SPEC §7–§10).

Each type has a pydantic model of its ``data``; every model carries the entity ``id`` and its
``version`` so that consumers can ignore stale deliveries. Models allow extra fields: producers may
add context, consumers rely only on what is declared here. The AsyncAPI document
(``shared.events.asyncapi``) is generated from this catalog.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class EventData(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    version: int


# --- registry ------------------------------------------------------------------------------
class EngineerCertificate(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str
    certificate_no: str
    valid_until: date


class AgencyStatusChanged(EventData):
    """Any status change of an agency's filing."""

    uscc: str
    name: str
    status: str
    district_code: str
    service_districts: list[str] = []
    service_industries: list[str] = []
    # The roster: its registered safety engineers whose certificate is valid and not lapsed, by name
    # (NFKC, no format characters) — contract capacity (§9) and a visit's engineer (§16) check it.
    registered_engineers: list[str] = []
    filing_no: str | None = None
    valid_until: date | None = None
    reason: str | None = None
    previous_status: str | None = None
    # True while the agency is in the public directory: approved, or approved and applying for
    # renewal (status ``submitted``) with its current filing still valid.
    filing_in_force: bool | None = None
    # The certificates of the agency's engineers (notify reminds the agency 60 days before one
    # expires, SPEC §15); the registry fills it, absent in older events.
    engineer_certificates: list[EngineerCertificate] = []
    # Below the staffing minimums once expired certificates stopped counting (SPEC §18); the
    # agency is told (notify). Absent in older events.
    noncompliant: bool | None = None


class AgencyCreditChanged(EventData):
    """``id`` is the agency id; ``version`` counts the agency's credit changes."""

    score: int
    grade: Literal["A", "B", "C", "D"]
    delta: int = 0
    cause: str | None = None


# --- enterprises ---------------------------------------------------------------------------
class EnterpriseChanged(EventData):
    uscc: str
    name: str
    industry: str
    district_code: str
    town: str | None = None
    risk_level: Literal["red", "orange", "yellow", "blue"]
    previous_risk_level: Literal["red", "orange", "yellow", "blue"] | None = None
    # The rest of the registration record (一企一档 shows it, SPEC §22; docs/DECISIONS.md
    # D60): declared so consumers may rely on it; absent in older events.
    village: str | None = None
    address: str | None = None
    employees: int | None = None
    major_hazard_source: bool | None = None
    hazard_flags: list[str] | None = None
    base_level: Literal["red", "orange", "yellow", "blue"] | None = None
    contact_name: str | None = None
    contact_phone: str | None = None


class EnterpriseCreditChanged(EventData):
    """``enterprise.credit_changed`` (audit's credit file, SPEC §19; docs/DECISIONS.md D47):
    ``id`` is the enterprise id (its USCC while audit does not know the id yet), ``version`` counts
    the file's changes; contracts reads ``grade`` (D raises the inspection frequency one level)."""

    uscc: str
    score: int
    grade: Literal["A", "B", "C", "D"]
    previous_grade: Literal["A", "B", "C", "D"] | None = None
    delta: int = 0
    cause: str | None = None


# --- contracts -----------------------------------------------------------------------------
class ContractChanged(EventData):
    status: str
    enterprise_uscc: str
    agency_id: str
    agency_name: str | None = None
    enterprise_name: str | None = None
    engineer_name: str
    district_code: str
    start_date: date
    end_date: date
    services: list[dict[str, Any]] = []
    filing_no: str | None = None
    risk_flagged: bool = False
    reason: str | None = None
    # The parties as the enterprises service needs them to decide who sees a record in full
    # (SPEC §14): the agency's USCC, who drafted the contract, whether the enterprise has signed.
    agency_uscc: str | None = None
    drafted_by: Literal["agency", "enterprise"] | None = None
    enterprise_signed: bool | None = None
    # The enterprise's town (a code) where the producer knows it: notify tells that town's bureau
    # (SPEC §22, docs/DECISIONS.md D60); absent in older events.
    town: str | None = None


# --- audit ---------------------------------------------------------------------------------
class ServiceLogChanged(EventData):
    contract_id: str
    agency_id: str
    enterprise_uscc: str
    visit_date: date
    items: list[str] = []
    confirmed: bool = False
    district_code: str | None = None
    dispute_reason: str | None = None
    # The enterprise's town (a code) where the producer knows it: notify tells that town's bureau
    # (SPEC §22, docs/DECISIONS.md D60); absent in older events.
    town: str | None = None


class HazardChanged(EventData):
    contract_id: str
    agency_id: str
    enterprise_uscc: str
    district_code: str
    level: Literal["general", "major"]
    status: Literal["open", "rectified", "verified", "overdue"]
    deadline: date
    verified_late: bool = False
    # The enterprise's town (a code) where the producer knows it: notify tells that town's bureau
    # (SPEC §22, docs/DECISIONS.md D60); absent in older events.
    town: str | None = None


class VisitMissed(EventData):
    """``id`` is the contract id; one event per newly counted missed visit."""

    contract_id: str
    agency_id: str
    item: str
    missed: int
    as_of: date
    # The enterprise's town (a code) where the producer knows it: notify tells that town's bureau
    # (SPEC §22, docs/DECISIONS.md D60); absent in older events.
    town: str | None = None


class AuditCompleted(EventData):
    contract_id: str
    agency_id: str
    total: float
    fraud: bool = False
    period: str | None = None
    # The enterprise's town (a code) where the producer knows it: notify tells that town's bureau
    # (SPEC §22, docs/DECISIONS.md D60); absent in older events.
    town: str | None = None


class ComplaintChanged(EventData):
    agency_id: str
    status: Literal["received", "forwarded", "responded", "closed"]
    category: str
    district_code: str | None = None
    contract_id: str | None = None
    outcome: Literal["upheld", "dismissed"] | None = None
    response_due: date | None = None
    # The complaining enterprise (absent for an anonymous complaint): notify tells it (SPEC §15).
    complainant_uscc: str | None = None
    # The enterprise's town (a code) where the producer knows it: notify tells that town's bureau
    # (SPEC §22, docs/DECISIONS.md D60); absent in older events.
    town: str | None = None


class SupervisionChanged(EventData):
    """A major-hazard supervision case (SPEC §17); ``id`` is the case id."""

    hazard_id: str
    enterprise_uscc: str
    district_code: str
    status: str
    agency_id: str | None = None
    deadline: date | None = None
    # The enterprise's town (a code) where the producer knows it: notify tells that town's bureau
    # (SPEC §22, docs/DECISIONS.md D60); absent in older events.
    town: str | None = None


class ReportChanged(EventData):
    """A public report (群众举报, SPEC §22); ``id`` is the report id."""

    district_code: str
    town: str | None = None
    category: Literal["hazard", "violation", "other"]
    enterprise_name: str
    enterprise_uscc: str | None = None
    status: str = "received"


class AccidentRecorded(EventData):
    """An accident (一案双查, SPEC §20); ``id`` is the accident id."""

    enterprise_uscc: str
    district_code: str
    occurred_at: datetime
    severity: Literal["general", "larger", "major", "especially_major"]
    deaths: int = 0
    injuries: int = 0
    # The enterprise's town (a code) where the producer knows it: notify tells that town's bureau
    # (SPEC §22, docs/DECISIONS.md D60); absent in older events.
    town: str | None = None


class EngagementDeclared(EventData):
    """Other work an agency declared for an enterprise (SPEC §20); ``id`` is the engagement id."""

    agency_id: str
    agency_uscc: str | None = None
    enterprise_uscc: str
    kind: Literal["safety_evaluation", "testing", "consulting", "training"]
    starts_on: date
    ends_on: date


class PolicyPublished(EventData):
    """A version of the custody implementation plan (SPEC §22); ``id`` and ``version`` are the
    version's number, ``policy`` the whole document (shared.policy.Policy), ``policy_version`` its label."""

    policy_version: str
    effective_from: date
    published_at: datetime
    published_by: str | None = None
    policy: dict[str, Any]


class CreditListingChanged(EventData):
    """A serious-dishonesty listing (SPEC §19); ``id`` is the listing id."""

    org_uscc: str
    org_kind: Literal["agency", "enterprise"]
    status: str
    reason: str | None = None
    objection_until: date | None = None
    name: str | None = None


# --- gateway (SPEC §14) ----------------------------------------------------------------------
class AccountChanged(EventData):
    """An account as notify needs it to address people (state-carrying: every event carries the
    whole account); ``id`` is the account id."""

    username: str
    role: Literal["admin", "bureau", "agency", "enterprise"]
    org_uscc: str | None = None
    district: str | None = None
    email: str | None = None
    language: Literal["zh-CN", "en"] | None = None
    display_name: str | None = None


class OrganisationChanged(EventData):
    """``id`` is the organisation's USCC."""

    uscc: str
    kind: Literal["agency", "enterprise"]
    name: str
    status: Literal["pending", "verified", "rejected", "suspended"]
    district: str
    admin_account_id: str | None = None
    reason: str | None = None
    previous_status: str | None = None


class TokensRevoked(EventData):
    """Access tokens that must stop working at every service, not only at the gateway: tokens of
    these subjects (account ids) or clients issued before ``not_before`` (epoch seconds), and these
    ``jti``s until ``until``. Every process keeps them in memory (shared.revocations)."""

    subjects: list[str] = []
    clients: list[str] = []
    jtis: list[str] = []
    not_before: float
    until: float | None = None
    reason: str


class SigningKeyChanged(EventData):
    """``id`` is the key's ``kid``: services refetch the JWKS at once."""

    kid: str


# --- every service (docs/DECISIONS.md D32) -----------------------------------------
class TrailAdvanced(EventData):
    """A service's audit trail grew: its new head. ``id`` is the service, ``version`` the seq."""

    service: str
    seq: int
    hash: str
    at: datetime


class StorageUsed(EventData):
    """The bytes one organisation stores in one service (SPEC §16: a quota over all of them).
    ``id`` is ``<org_role>:<org_uscc>``; ``version`` the byte total (it only grows: nothing is deleted)."""

    service: str
    org_role: str
    org_uscc: str
    bytes: int


class EventType(StrEnum):
    """Every event type on the bus; ``CATALOG`` gives each its data model."""

    AGENCY_SUBMITTED = "agency.submitted"
    AGENCY_APPROVED = "agency.approved"
    AGENCY_REJECTED = "agency.rejected"
    # Beyond the SPEC's list: the bureau asked for more information (review ``request_changes``).
    AGENCY_NEEDS_MORE_INFO = "agency.needs_more_info"
    AGENCY_SUSPENDED = "agency.suspended"
    AGENCY_REINSTATED = "agency.reinstated"
    AGENCY_REVOKED = "agency.revoked"
    AGENCY_EXPIRED = "agency.expired"
    AGENCY_CREDIT_CHANGED = "agency.credit_changed"
    # An approved change filing (SPEC §18).
    AGENCY_CHANGED = "agency.changed"
    ENTERPRISE_REGISTERED = "enterprise.registered"
    ENTERPRISE_UPDATED = "enterprise.updated"
    ENTERPRISE_RISK_CHANGED = "enterprise.risk_changed"
    # Beyond the SPEC's list: the enterprise's credit file changed (audit; D47).
    ENTERPRISE_CREDIT_CHANGED = "enterprise.credit_changed"
    CONTRACT_DRAFTED = "contract.drafted"
    CONTRACT_SIGNED = "contract.signed"
    CONTRACT_FILING_SUBMITTED = "contract.filing_submitted"
    CONTRACT_FILED = "contract.filed"
    CONTRACT_REJECTED = "contract.rejected"
    CONTRACT_ACTIVATED = "contract.activated"
    CONTRACT_SUSPENDED = "contract.suspended"
    CONTRACT_TERMINATED = "contract.terminated"
    CONTRACT_EXPIRED = "contract.expired"
    CONTRACT_EXPIRING = "contract.expiring"
    # Beyond the SPEC's list (docs/DECISIONS.md): the enterprise's risk rose above what the
    # contract's inspection frequency meets, so the bureau must look at it.
    CONTRACT_FLAGGED = "contract.flagged"
    SERVICELOG_RECORDED = "servicelog.recorded"
    SERVICELOG_CONFIRMED = "servicelog.confirmed"
    SERVICELOG_DISPUTED = "servicelog.disputed"
    HAZARD_REPORTED = "hazard.reported"
    HAZARD_RECTIFIED = "hazard.rectified"
    HAZARD_VERIFIED = "hazard.verified"
    HAZARD_OVERDUE = "hazard.overdue"
    HAZARD_RECTIFICATION_REJECTED = "hazard.rectification_rejected"
    VISIT_MISSED = "visit.missed"
    AUDIT_COMPLETED = "audit.completed"
    COMPLAINT_RECEIVED = "complaint.received"
    COMPLAINT_FORWARDED = "complaint.forwarded"
    COMPLAINT_RESPONDED = "complaint.responded"
    COMPLAINT_CLOSED = "complaint.closed"
    SUPERVISION_OPENED = "supervision.opened"
    SUPERVISION_ACKNOWLEDGED = "supervision.acknowledged"
    SUPERVISION_ESCALATED = "supervision.escalated"
    SUPERVISION_LISTED = "supervision.listed"
    SUPERVISION_CLOSED = "supervision.closed"
    REPORT_RECEIVED = "report.received"
    REPORT_CLOSED = "report.closed"
    CREDIT_NOTICED = "credit.noticed"
    CREDIT_LISTED = "credit.listed"
    CREDIT_WITHDRAWN = "credit.withdrawn"
    CREDIT_EXPIRED = "credit.expired"
    CREDIT_REPAIRED = "credit.repaired"
    ACCIDENT_RECORDED = "accident.recorded"
    AGENCY_ENGAGEMENT_DECLARED = "agency.engagement_declared"
    POLICY_PUBLISHED = "policy.published"
    ORGANISATION_REGISTERED = "organisation.registered"
    ORGANISATION_VERIFIED = "organisation.verified"
    ORGANISATION_REJECTED = "organisation.rejected"
    ORGANISATION_SUSPENDED = "organisation.suspended"
    ORGANISATION_REINSTATED = "organisation.reinstated"
    # Beyond the SPEC's list (docs/DECISIONS.md): the admin role handed to another account.
    ORGANISATION_REASSIGNED = "organisation.reassigned"
    TOKEN_REVOKED = "token.revoked"
    KEY_ROTATED = "key.rotated"
    KEY_REVOKED = "key.revoked"
    ACCOUNT_REGISTERED = "account.registered"
    ACCOUNT_UPDATED = "account.updated"
    ACCOUNT_DISABLED = "account.disabled"
    ACCOUNT_ENABLED = "account.enabled"
    ACCOUNT_REMOVED = "account.removed"
    # Beyond the SPEC's list (docs/DECISIONS.md D32): every service's audit trail head.
    AUDITTRAIL_ADVANCED = "audittrail.advanced"
    STORAGE_USED = "storage.used"

    @property
    def family(self) -> str:
        """The entity part of the type (``contract`` of ``contract.filed``)."""
        return self.value.split(".", 1)[0]


def _models(model: type[EventData], *types: EventType) -> dict[EventType, type[EventData]]:
    return dict.fromkeys(types, model)


E = EventType
CATALOG: dict[EventType, type[EventData]] = {
    **_models(
        AgencyStatusChanged,
        E.AGENCY_SUBMITTED,
        E.AGENCY_APPROVED,
        E.AGENCY_REJECTED,
        E.AGENCY_NEEDS_MORE_INFO,
        E.AGENCY_SUSPENDED,
        E.AGENCY_REINSTATED,
        E.AGENCY_REVOKED,
        E.AGENCY_EXPIRED,
        E.AGENCY_CHANGED,
    ),
    E.AGENCY_CREDIT_CHANGED: AgencyCreditChanged,
    **_models(EnterpriseChanged, E.ENTERPRISE_REGISTERED, E.ENTERPRISE_UPDATED, E.ENTERPRISE_RISK_CHANGED),
    E.ENTERPRISE_CREDIT_CHANGED: EnterpriseCreditChanged,
    **_models(
        ContractChanged,
        E.CONTRACT_DRAFTED,
        E.CONTRACT_SIGNED,
        E.CONTRACT_FILING_SUBMITTED,
        E.CONTRACT_FILED,
        E.CONTRACT_REJECTED,
        E.CONTRACT_ACTIVATED,
        E.CONTRACT_SUSPENDED,
        E.CONTRACT_TERMINATED,
        E.CONTRACT_EXPIRED,
        E.CONTRACT_EXPIRING,
        E.CONTRACT_FLAGGED,
    ),
    **_models(ServiceLogChanged, E.SERVICELOG_RECORDED, E.SERVICELOG_CONFIRMED, E.SERVICELOG_DISPUTED),
    **_models(HazardChanged, E.HAZARD_REPORTED, E.HAZARD_RECTIFIED, E.HAZARD_VERIFIED, E.HAZARD_OVERDUE),
    **_models(HazardChanged, E.HAZARD_RECTIFICATION_REJECTED),
    E.VISIT_MISSED: VisitMissed,
    E.AUDIT_COMPLETED: AuditCompleted,
    **_models(ComplaintChanged, E.COMPLAINT_RECEIVED, E.COMPLAINT_FORWARDED, E.COMPLAINT_RESPONDED, E.COMPLAINT_CLOSED),
    **_models(
        OrganisationChanged,
        E.ORGANISATION_REGISTERED,
        E.ORGANISATION_VERIFIED,
        E.ORGANISATION_REJECTED,
        E.ORGANISATION_SUSPENDED,
        E.ORGANISATION_REINSTATED,
        E.ORGANISATION_REASSIGNED,
    ),
    E.TOKEN_REVOKED: TokensRevoked,
    **_models(SigningKeyChanged, E.KEY_ROTATED, E.KEY_REVOKED),
    **_models(
        SupervisionChanged,
        E.SUPERVISION_OPENED,
        E.SUPERVISION_ACKNOWLEDGED,
        E.SUPERVISION_ESCALATED,
        E.SUPERVISION_LISTED,
        E.SUPERVISION_CLOSED,
    ),
    **_models(ReportChanged, E.REPORT_RECEIVED, E.REPORT_CLOSED),
    **_models(
        CreditListingChanged, E.CREDIT_NOTICED, E.CREDIT_LISTED, E.CREDIT_WITHDRAWN, E.CREDIT_EXPIRED, E.CREDIT_REPAIRED
    ),
    E.ACCIDENT_RECORDED: AccidentRecorded,
    E.AGENCY_ENGAGEMENT_DECLARED: EngagementDeclared,
    E.POLICY_PUBLISHED: PolicyPublished,
    **_models(
        AccountChanged,
        E.ACCOUNT_REGISTERED,
        E.ACCOUNT_UPDATED,
        E.ACCOUNT_DISABLED,
        E.ACCOUNT_ENABLED,
        E.ACCOUNT_REMOVED,
    ),
    E.AUDITTRAIL_ADVANCED: TrailAdvanced,
    E.STORAGE_USED: StorageUsed,
}

SOURCES: dict[str, str] = {
    "agency": "/registry",
    "enterprise": "/enterprises",
    "contract": "/contracts",
    "servicelog": "/audit",
    "hazard": "/audit",
    "visit": "/audit",
    "audit": "/audit",
    "complaint": "/audit",
    "supervision": "/audit",
    "report": "/audit",
    "credit": "/audit",
    "accident": "/audit",
    "policy": "/registry",
    "organisation": "/gateway",
    "account": "/gateway",
    "token": "/gateway",
    "key": "/gateway",
    "audittrail": "/audit-trail",  # emitted by every service: ``data.service`` names it
    "storage": "/storage",  # emitted by every service storing files: ``data.service`` names it
}


class UnknownEventType(KeyError):
    pass


def validate_event_data(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """Check ``data`` against the catalog; returns it as JSON-ready values."""
    try:
        model = CATALOG[EventType(event_type)]
    except ValueError as exc:
        raise UnknownEventType(event_type) from exc
    return model.model_validate(data).model_dump(mode="json")


def source_of(event_type: str) -> str:
    if event_type in ("agency.credit_changed", "enterprise.credit_changed"):
        return "/audit"  # the credit files live in audit, although the entity is the agency's or enterprise's
    return SOURCES[event_type.split(".", 1)[0]]
