"""The accident dossier (一案双查, SPEC §20): the enterprise's custody record **as of** the accident.

A record belongs when it existed at ``occurred_at`` (its own creation time; the repository's
``CustodyRecord`` reads only those), and each is shown in the state it was in *then*, from the
timestamps the rows keep — never their current state:

- a visit (``visit_state_as_of``), with the attachments it was recorded with: ``confirmed`` when
  ``confirmed_at`` ≤ the time, else ``recorded``;
  Visit disputes: ``disputed`` while disputed_at ≤ t < resolved_at, then the bureau's decision;
- a hazard (``hazard_state_as_of``): the state its last step up to the time left it in (its
  history, ``hazard_step``, kept from found to verified). A hazard found before the history was
  kept: the last of its dated columns up to the time — found (``created_at``), ``rectified_at``,
  ``rejected_at`` (back to open), ``overdue_at`` — and ``verified`` once ``verified_at`` ≤ the time
  (those keep only the last rectification and rejection: docs/DECISIONS.md D46);
- a complaint: the status of the last step of its timeline up to the time, and its outcome only if
  resolved by then;
- an audit task: ``completed`` with its total only if ``completed_at`` ≤ the time;
- credit: the records up to the time, and each agency's standing replayed from them.

Visits are those of the twelve months before the accident (by visit date). The contracts are the
enterprise's whose term covers the accident's day. The XLSX has one sheet per section.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from services.audit.models import (
    Accident,
    AuditTask,
    Complaint,
    ComplaintStep,
    DisputeDecision,
    Hazard,
    HazardStep,
    ServiceLog,
)
from services.audit.repository.accidents import CustodyRecord
from services.audit.service.credit import standing
from services.audit.states import HAZARD_FOUND, AuditTaskStatus, ComplaintStatus, HazardStatus, ServiceLogStatus
from shared.clock import as_utc
from shared.exports import cell_text
from shared.uow import UnitOfWork

VISIT_MONTHS = 12


# --- the states as of a time (pure) ----------------------------------------------------------------
def _by(moment: datetime | None, at: datetime) -> bool:
    return moment is not None and as_utc(moment) <= at


def visit_state_as_of(log: ServiceLog, at: datetime) -> ServiceLogStatus:
    """A visit's state at ``at``: disputed from ``disputed_at`` until ``resolved_at``, then what the
    bureau decided (upheld: confirmed; void); otherwise confirmed once countersigned."""
    if _by(log.resolved_at, at):
        return ServiceLogStatus.VOID if log.resolution == DisputeDecision.VOID else ServiceLogStatus.CONFIRMED
    if _by(log.disputed_at, at):
        return ServiceLogStatus.DISPUTED
    if _by(log.confirmed_at, at):
        return ServiceLogStatus.CONFIRMED
    return ServiceLogStatus.RECORDED


def hazard_state_as_of(hazard: Hazard, at: datetime, steps: Sequence[HazardStep] = ()) -> HazardStatus:
    """From its history (``steps``, cut at ``at``) when it has one from the start — the state of
    its last step; a hazard found before histories were kept, from its dated columns."""
    if steps and steps[0].action == HAZARD_FOUND:
        return HazardStatus(steps[-1].status)
    if _by(hazard.verified_at, at):
        return HazardStatus.VERIFIED
    dated = [(as_utc(hazard.created_at), 0, HazardStatus.OPEN)]
    for order, (moment, state) in enumerate(
        (
            (hazard.rectified_at, HazardStatus.RECTIFIED),
            (hazard.rejected_at, HazardStatus.OPEN),
            (hazard.overdue_at, HazardStatus.OVERDUE),
        ),
        start=1,
    ):
        if moment is not None and _by(moment, at):
            dated.append((as_utc(moment), order, state))
    return max(dated, key=lambda s: (s[0], s[1]))[2]


def complaint_state_as_of(complaint: Complaint, steps: Sequence[ComplaintStep]) -> str:
    """The status of the last step up to the time (``steps`` are already cut there)."""
    return steps[-1].status if steps else str(complaint.status)


def audit_state_as_of(task: AuditTask, at: datetime) -> AuditTaskStatus:
    return AuditTaskStatus.COMPLETED if _by(task.completed_at, at) else AuditTaskStatus.PENDING


def months_before(day: date, months: int) -> date:
    month = day.month - months
    year = day.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


# --- the dossier ---------------------------------------------------------------------------------
@dataclass
class Dossier:
    accident: Accident
    as_of: datetime
    visits_from: date
    contracts: list[dict[str, Any]]
    visits: list[dict[str, Any]]
    hazards: list[dict[str, Any]]
    complaints: list[dict[str, Any]]
    audits: list[dict[str, Any]]
    credit_records: list[dict[str, Any]]
    credit: list[dict[str, Any]]


async def build(uow: UnitOfWork, session: Any, accident: Accident) -> Dossier:
    at = as_utc(accident.occurred_at)
    record = CustodyRecord(session, enterprise_uscc=accident.enterprise_uscc, at=at)
    day = at.date()
    since = months_before(day, VISIT_MONTHS)
    contracts = await record.contracts(day)
    agency_ids = list(dict.fromkeys(c.agency_id for c in contracts))
    agencies = await record.agencies(agency_ids)
    contract_ids = [c.id for c in contracts]
    complaints = await record.complaints(agency_ids, contract_ids)
    steps = await record.complaint_steps([c.id for c in complaints])
    credit_records = await record.credit_records(agency_ids)
    rules = uow.policy.credit
    hazards = await record.hazards()
    histories = await record.hazard_steps([h.id for h in hazards])
    return Dossier(
        accident=accident,
        as_of=at,
        visits_from=since,
        contracts=[contract_row(c, agencies) for c in contracts],
        visits=[_visit(v, at) for v in await record.visits(since)],
        hazards=[
            {
                "id": h.id,
                "service_log_id": h.service_log_id,
                "description": h.description,
                "level": str(h.level),
                "location": h.location,
                "deadline": h.deadline,
                "created_at": as_utc(h.created_at),
                "state": str(hazard_state_as_of(h, at, histories.get(h.id, []))),
                "photos": list(h.photos),  # named when it was reported
            }
            for h in hazards
        ],
        complaints=[_complaint(c, steps.get(c.id, [])) for c in complaints],
        audits=[_audit(t, at) for t in await record.audits(contract_ids)],
        credit_records=[
            {"id": r.id, "agency_id": r.agency_id, "kind": str(r.kind), "delta": r.delta, "ref": r.ref, "at": r.at}
            for r in credit_records
        ],
        credit=[
            {"agency_id": a, "score": s.score, "grade": s.grade}
            for a in agency_ids
            for s in [standing([r.delta for r in credit_records if r.agency_id == a], rules)]
        ],
    )


def contract_row(c: Any, agencies: Mapping[Any, Any]) -> dict[str, Any]:
    """A contract as the dossier and the enterprise file show it, its agency named from the read model."""
    agency = agencies.get(c.agency_id)
    return {
        "id": c.id,
        "agency_id": c.agency_id,
        "agency_name": c.agency_name or (agency.name if agency is not None else None),
        "agency_uscc": agency.uscc if agency is not None else None,
        "engineer_name": c.engineer_name,
        "start_date": c.start_date,
        "end_date": c.end_date,
        "services": c.services,
    }


def _visit(log: ServiceLog, at: datetime) -> dict[str, Any]:
    state = visit_state_as_of(log, at)
    return {
        "id": log.id,
        "contract_id": log.contract_id,
        "visit_date": log.visit_date,
        "engineer_name": log.engineer_name,
        "items": list(log.items),
        "summary": log.summary,
        "recorded_at": as_utc(log.recorded_at),
        "state": str(state),
        "confirmed_at": as_utc(log.confirmed_at) if state == ServiceLogStatus.CONFIRMED else None,
        "attachments": list(log.attachments),  # named when the visit was recorded
    }


def _complaint(complaint: Complaint, steps: Sequence[ComplaintStep]) -> dict[str, Any]:
    resolved = any(s.status == ComplaintStatus.CLOSED for s in steps)
    return {
        "id": complaint.id,
        "agency_id": complaint.agency_id,
        "category": str(complaint.category),
        "description": complaint.description,
        "received_on": complaint.received_on,
        "state": complaint_state_as_of(complaint, steps),
        "outcome": str(complaint.outcome) if resolved and complaint.outcome else None,
    }


def _audit(task: AuditTask, at: datetime) -> dict[str, Any]:
    done = audit_state_as_of(task, at) == AuditTaskStatus.COMPLETED
    return {
        "id": task.id,
        "period": task.period,
        "contract_id": task.contract_id,
        "agency_id": task.agency_id,
        "state": str(audit_state_as_of(task, at)),
        "total": task.total if done else None,
        "fraud": task.fraud if done else None,
        "created_at": as_utc(task.created_at),
    }


# --- the workbook ----------------------------------------------------------------------------------
SHEETS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "contracts",
        "合同 contracts",
        ("id", "agency_id", "agency_name", "agency_uscc", "engineer_name", "start_date", "end_date"),
    ),
    (
        "visits",
        "服务记录 visits",
        (
            "id",
            "contract_id",
            "visit_date",
            "engineer_name",
            "items",
            "summary",
            "recorded_at",
            "state",
            "confirmed_at",
            "attachments",
        ),
    ),
    (
        "hazards",
        "隐患 hazards",
        ("id", "service_log_id", "level", "description", "location", "deadline", "created_at", "state", "photos"),
    ),
    (
        "complaints",
        "投诉 complaints",
        ("id", "agency_id", "category", "description", "received_on", "state", "outcome"),
    ),
    ("audits", "审计 audits", ("id", "period", "contract_id", "agency_id", "state", "total", "fraud", "created_at")),
    ("credit_records", "诚信记录 credit", ("id", "agency_id", "kind", "delta", "ref", "at")),
)


def _accident_rows(dossier: Dossier) -> list[tuple[str, Any]]:
    a = dossier.accident
    return [
        ("id", a.id),
        ("enterprise_uscc", a.enterprise_uscc),
        ("enterprise_name", a.enterprise_name),
        ("district_code", a.district_code),
        ("occurred_at", as_utc(a.occurred_at)),
        ("severity", str(a.severity)),
        ("deaths", a.deaths),
        ("injuries", a.injuries),
        ("description", a.description),
        ("as_of", dossier.as_of),
        ("visits_from", dossier.visits_from),
    ]


def _cell(sheet: Any, value: Any) -> WriteOnlyCell:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return WriteOnlyCell(sheet, value=value)
    cell = WriteOnlyCell(sheet, value=cell_text(str(value) if isinstance(value, uuid.UUID) else value))
    cell.data_type = "s"  # text, never a formula
    return cell


def xlsx(dossier: Dossier) -> bytes:
    """One sheet for the accident, then one per section (openpyxl write-only; call it off the loop)."""
    workbook = Workbook(write_only=True)
    head = workbook.create_sheet(title="事故 accident")
    for name, value in _accident_rows(dossier):
        head.append([_cell(head, name), _cell(head, value)])
    sections = {
        "contracts": dossier.contracts,
        "visits": dossier.visits,
        "hazards": dossier.hazards,
        "complaints": dossier.complaints,
        "audits": dossier.audits,
        "credit_records": dossier.credit_records,
    }
    for key, title, columns in SHEETS:
        sheet = workbook.create_sheet(title=title[:31])
        sheet.append([_cell(sheet, c) for c in columns])
        for row in sections[key]:
            sheet.append([_cell(sheet, row.get(c)) for c in columns])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
