"""The typed catalog of every event type on the bus (SPEC §7–§10).

Each type has a pydantic model of its ``data``; every model carries the entity ``id`` and its
``version`` so that consumers can ignore stale deliveries. Models allow extra fields: producers may
add context, consumers rely only on what is declared here. The AsyncAPI document is generated from
this catalog.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class EventData(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    version: int


# --- registry ------------------------------------------------------------------------------
class AgencyStatusChanged(EventData):
    """Any status change of an agency's filing."""

    uscc: str
    name: str
    status: str
    district_code: str
    service_districts: list[str] = []
    service_industries: list[str] = []
    registered_engineers: list[str] = []
    filing_no: str | None = None
    valid_until: date | None = None
    reason: str | None = None
    previous_status: str | None = None
    # True while the agency is in the public directory: approved, or approved and applying for
    # renewal (status ``submitted``) with its current filing still valid.
    filing_in_force: bool | None = None


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


# --- audit ---------------------------------------------------------------------------------
class ServiceLogChanged(EventData):
    contract_id: str
    agency_id: str
    enterprise_uscc: str
    visit_date: date
    items: list[str] = []
    confirmed: bool = False


class HazardChanged(EventData):
    contract_id: str
    agency_id: str
    enterprise_uscc: str
    district_code: str
    level: Literal["general", "major"]
    status: Literal["open", "rectified", "verified", "overdue"]
    deadline: date
    verified_late: bool = False


class VisitMissed(EventData):
    """``id`` is the contract id; one event per newly counted missed visit."""

    contract_id: str
    agency_id: str
    item: str
    missed: int
    as_of: date


class AuditCompleted(EventData):
    contract_id: str
    agency_id: str
    total: float
    fraud: bool = False
    period: str | None = None


class ComplaintChanged(EventData):
    agency_id: str
    status: Literal["received", "forwarded", "responded", "closed"]
    category: str
    district_code: str | None = None
    contract_id: str | None = None
    outcome: Literal["upheld", "dismissed"] | None = None
    response_due: date | None = None


# --- gateway (SPEC §14) ----------------------------------------------------------------------
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


CATALOG: dict[str, type[EventData]] = {
    **{f"agency.{s}": AgencyStatusChanged for s in ("submitted", "approved", "rejected", "suspended", "reinstated", "revoked", "expired")},
    # Beyond the SPEC's list: the bureau asked for more information (review ``request_changes``).
    "agency.needs_more_info": AgencyStatusChanged,
    "agency.credit_changed": AgencyCreditChanged,
    **{f"enterprise.{s}": EnterpriseChanged for s in ("registered", "updated", "risk_changed")},
    **{f"contract.{s}": ContractChanged for s in ("signed", "filed", "rejected", "activated", "suspended", "terminated", "expired", "expiring")},
    # Beyond the SPEC's list (docs/DECISIONS.md): the enterprise's risk rose above what the
    # contract's inspection frequency meets, so the bureau must look at it.
    "contract.flagged": ContractChanged,
    "servicelog.recorded": ServiceLogChanged,
    "servicelog.confirmed": ServiceLogChanged,
    **{f"hazard.{s}": HazardChanged for s in ("reported", "rectified", "verified", "overdue")},
    "visit.missed": VisitMissed,
    "audit.completed": AuditCompleted,
    **{f"complaint.{s}": ComplaintChanged for s in ("received", "forwarded", "responded", "closed")},
    **{f"organisation.{s}": OrganisationChanged for s in ("registered", "verified", "rejected", "suspended", "reinstated")},
    # Beyond the SPEC's list (docs/DECISIONS.md D18): the admin role handed to another account.
    "organisation.reassigned": OrganisationChanged,
    "token.revoked": TokensRevoked,
    "key.rotated": SigningKeyChanged,
    "key.revoked": SigningKeyChanged,
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
    "organisation": "/gateway",
    "token": "/gateway",
    "key": "/gateway",
}


class UnknownEventType(KeyError):
    pass


def validate_event_data(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """Check ``data`` against the catalog; returns it as JSON-ready values."""
    try:
        model = CATALOG[event_type]
    except KeyError as exc:
        raise UnknownEventType(event_type) from exc
    return model.model_validate(data).model_dump(mode="json")


def source_of(event_type: str) -> str:
    if event_type == "agency.credit_changed":
        return "/audit"  # the credit file lives in audit, although the entity is the agency
    return SOURCES[event_type.split(".", 1)[0]]


def asyncapi_document(*, subject_prefix: str = "custody", servers: list[str] | None = None) -> dict[str, Any]:
    """AsyncAPI 3.0 document of the catalog."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for event_type, model in sorted(CATALOG.items()):
        key = event_type.replace(".", "_")
        messages[key] = {
            "name": event_type,
            "title": event_type,
            "contentType": "application/json",
            "summary": (model.__doc__ or "").strip().splitlines()[0] if model.__doc__ else event_type,
            "payload": {
                "type": "object",
                "description": f"CloudEvents 1.0 envelope, source {source_of(event_type)}",
                "required": ["specversion", "id", "source", "type", "time", "data"],
                "properties": {
                    "specversion": {"const": "1.0"},
                    "id": {"type": "string", "format": "uuid"},
                    "source": {"const": source_of(event_type)},
                    "type": {"const": event_type},
                    "subject": {"type": "string"},
                    "time": {"type": "string", "format": "date-time"},
                    "datacontenttype": {"const": "application/json"},
                    "requestid": {"type": "string"},
                    "data": model.model_json_schema(),
                },
            },
        }
        channels[key] = {"address": f"{subject_prefix}.{event_type}", "messages": {key: {"$ref": f"#/components/messages/{key}"}}}
        operations[f"on_{key}"] = {"action": "receive", "channel": {"$ref": f"#/channels/{key}"}}
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "安全生产托管平台事件 / Custody platform events", "version": "1.0.0"},
        "servers": {f"nats{i}": {"host": s.split("://")[-1], "protocol": "nats"} for i, s in enumerate(servers or ["127.0.0.1:4222"])},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }
