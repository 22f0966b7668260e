"""Complaints (投诉): an enterprise, or anonymously the public, complains about an agency; the
bureau forwards (通报) it to the agency, the agency responds, the bureau resolves it — upheld costs
the agency credit (states.COMPLAINT), and only once the agency was heard (``heard``, SPEC §19); the
complaint then names the credit record it caused (``credit_record_id``; the record's ref is the
complaint). Overdue flags are set by sweep and are sticky (a late response
stays marked late); every step is on the complaint's timeline.

The complaint's district — whose bureau handles it — is the district of the contract's enterprise,
else of the complaining enterprise, else of the agency. The agency sees a complaint only once
forwarded (the repository's rule) and never the complainant's phone, nor the enterprise behind an
anonymous one. An anonymous complaint's answer carries a ``tracking_code`` (shown once, stored as a
SHA-256) with which ``track_complaint`` shows progress and outcome, not people — the same 404 for
an unknown id and a wrong code.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import structlog

from services.audit import events
from services.audit.models import Complaint, ComplaintOutcome, ComplaintStep, CreditKind
from services.audit.repository import Listing, every_row
from services.audit.repository.complaints import Complaints, complainant_of
from services.audit.repository.readmodels import Agencies, Contracts, Enterprises
from services.audit.schemas import ComplaintCreate
from services.audit.service.credit import record_credit
from services.audit.states import COMPLAINT, FORWARD, RESOLVE, RESPOND, SUBMITS_COMPLAINTS, ComplaintStatus
from shared.errors import Conflict, ErrorCode, FieldError, Forbidden, NotFound, ValidationFailed
from shared.events.catalog import EventType
from shared.http import Precondition
from shared.i18n import text
from shared.ids import new_id
from shared.pagination import PageParams
from shared.roles import Role
from shared.uow import UnitOfWork

log = structlog.get_logger("audit.complaints")
PHONE_HIDDEN_FROM = frozenset({Role.AGENCY, Role.PUBLIC})  # the complainant's phone is for the bureau
SWEEP_ACTOR = "system:sweep"  # how the timeline names the overdue flags' author
ANONYMOUS_ACTOR = "anonymous"  # and an anonymous complainant


class ComplaintSeen:
    """A complaint as one reader sees it (``schemas.ComplaintRead``): what the reader's role may not
    see is blank, and the timeline and the tracking code are there only where they are shown."""

    def __init__(
        self,
        complaint: Complaint,
        *,
        reader: str,
        timeline: list[ComplaintStep] | None = None,
        tracking_code: str | None = None,
    ) -> None:
        self._complaint = complaint
        self._reader = reader
        self.timeline = timeline
        self.tracking_code = tracking_code

    def __getattr__(self, name: str) -> Any:
        return getattr(self._complaint, name)

    @property
    def contact_phone(self) -> str | None:
        return None if self._reader in PHONE_HIDDEN_FROM else self._complaint.contact_phone

    @property
    def complainant_uscc(self) -> str | None:
        hidden = self._reader == Role.AGENCY and self._complaint.anonymous
        return None if hidden else self._complaint.complainant_uscc


def new_tracking_code() -> str:
    """A tracking code: random and unguessable (96 bits), shown once (public reports use it too)."""
    return secrets.token_urlsafe(12)


def tracking_digest(code: str) -> str:
    """What is stored of a tracking code: its SHA-256."""
    return hashlib.sha256(code.encode()).hexdigest()


def _seen(uow: UnitOfWork, complaint: Complaint, **shown: Any) -> ComplaintSeen:
    return ComplaintSeen(complaint, reader=uow.principal.role, **shown)


async def submit_complaint(uow: UnitOfWork, *, body: ComplaintCreate) -> ComplaintSeen:
    """The complaint, ``received``; an anonymous one with its tracking code (shown this once)."""
    principal = uow.principal
    if principal.role not in SUBMITS_COMPLAINTS:
        raise Forbidden(
            text("投诉由企业或公众（匿名）提出", "Complaints come from enterprises or, anonymously, the public")
        )
    if principal.is_anonymous and not body.contact_phone:
        raise ValidationFailed(
            text("匿名投诉须留联系电话", "An anonymous complaint needs a contact phone"),
            code=ErrorCode.CONTACT_PHONE_REQUIRED,
            errors=[FieldError("contact_phone", text("必填", "required"))],
        )
    code = new_tracking_code() if principal.is_anonymous else None
    today = uow.clock.today()
    async with uow:
        agency = await Agencies(uow.session).find(body.agency_id)
        if agency is None:
            raise ValidationFailed(
                text("机构不存在", "Unknown agency"),
                code=ErrorCode.UNKNOWN_AGENCY,
                errors=[FieldError("agency_id", text("机构不存在", "unknown agency"))],
            )
        district = await _contract_district(uow, body) if body.contract_id is not None else None
        if district is None:
            enterprise = await Enterprises(uow.session).of(principal)
            district = enterprise.district_code if enterprise else agency.district_code
        complaint = Complaint(
            id=new_id(),
            agency_id=agency.id,
            contract_id=body.contract_id,
            district_code=district,
            complainant_uscc=complainant_of(principal),
            contact_phone=body.contact_phone,
            anonymous=principal.is_anonymous,
            tracking_sha256=tracking_digest(code) if code else None,
            category=body.category,
            description=body.description,
            status=ComplaintStatus.RECEIVED,
            received_on=today,
            resolve_due=today + timedelta(days=uow.policy.complaint_resolve_days),
            created_at=uow.now,
        )
        complaints = Complaints(uow.session)
        await complaints.add(complaint)
        await complaints.add_step(
            complaint.id,
            status=complaint.status,
            at=uow.now,
            actor=ANONYMOUS_ACTOR if principal.is_anonymous else principal.actor,
        )
        await uow.emit(
            EventType.COMPLAINT_RECEIVED, await events.located(uow.session, events.complaint_changed(complaint))
        )
    log.info("audit.complaint.received", complaint_id=str(complaint.id), anonymous=complaint.anonymous)
    return _seen(uow, complaint, tracking_code=code)


async def _contract_district(uow: UnitOfWork, body: ComplaintCreate) -> str:
    """The district of the contract complained about, which must be the agency's (and the
    complaining enterprise's own)."""
    contracts = Contracts(uow.session)
    found = await contracts.with_condition(body.contract_id, contracts.of_complainant(uow.principal))
    if found is None:
        raise ValidationFailed(
            text("合同不存在", "Unknown contract"),
            code=ErrorCode.UNKNOWN_CONTRACT,
            errors=[FieldError("contract_id", text("合同不存在", "unknown contract"))],
        )
    contract, complainants = found
    if contract.agency_id != body.agency_id:
        raise ValidationFailed(
            text("合同不属于该机构", "The contract is not the agency's"),
            code=ErrorCode.CONTRACT_AGENCY_MISMATCH,
            errors=[FieldError("contract_id", text("合同不属于该机构", "not this agency's contract"))],
        )
    if not uow.principal.is_anonymous and not complainants:
        raise ValidationFailed(
            text("只能就本企业的合同投诉", "You may complain about your own contracts only"),
            code=ErrorCode.CONTRACT_NOT_YOURS,
            errors=[FieldError("contract_id", text("不是本企业的合同", "not your contract"))],
        )
    return contract.district_code


async def track_complaint(uow: UnitOfWork, *, complaint_id: uuid.UUID, code: str) -> ComplaintSeen:
    """An anonymous complainant's view, by the tracking code."""
    async with uow.read() as session:
        complaints = Complaints(session)
        complaint = await complaints.find(complaint_id)
        # the same work, and the same 404, for an unknown id and a wrong code
        expected = (
            complaint.tracking_sha256
            if complaint is not None and complaint.tracking_sha256
            else tracking_digest(new_tracking_code())
        )
        if complaint is None or not hmac.compare_digest(expected, tracking_digest(code)):
            raise NotFound(text("投诉不存在", "Complaint not found"))
        timeline = await complaints.timeline(complaint.id)
    return _seen(uow, complaint, timeline=timeline)


async def forward_complaint(
    uow: UnitOfWork, *, complaint_id: uuid.UUID, note: str | None, if_match: Precondition
) -> ComplaintSeen:
    async with uow:
        complaints = Complaints(uow.session)
        complaint = await complaints.get(complaint_id, uow.principal, write=True)
        COMPLAINT.authorize(FORWARD, uow.principal.role)  # 403 before 412 before 409
        if_match.check(complaint.version)
        step = COMPLAINT.step(FORWARD, complaint.status, uow.principal.role)
        complaint.status = step.target
        complaint.response_due = uow.clock.today() + timedelta(days=uow.policy.complaint_response_days)
        complaint.version += 1
        await complaints.add_step(
            complaint.id, status=complaint.status, at=uow.now, actor=uow.principal.actor, note=note
        )
        if step.emits:
            await uow.emit(step.emits, await events.located(uow.session, events.complaint_changed(complaint)))
    return _seen(uow, complaint)


async def respond_to_complaint(
    uow: UnitOfWork, *, complaint_id: uuid.UUID, response: str, if_match: Precondition
) -> ComplaintSeen:
    async with uow:
        complaints = Complaints(uow.session)
        complaint = await complaints.get(complaint_id, uow.principal, write=True)
        COMPLAINT.authorize(RESPOND, uow.principal.role)  # 403 before 412 before 409
        if_match.check(complaint.version)
        step = COMPLAINT.step(RESPOND, complaint.status, uow.principal.role)
        complaint.status, complaint.response = step.target, response
        complaint.version += 1
        await complaints.add_step(
            complaint.id,
            status=complaint.status,
            at=uow.now,
            actor=uow.principal.actor,
            note=response,
        )
        if step.emits:
            await uow.emit(step.emits, await events.located(uow.session, events.complaint_changed(complaint)))
    return _seen(uow, complaint)


def heard(complaint: Complaint, *, today: date) -> bool:
    """Whether the agency was heard, so that the complaint may be upheld (SPEC §19): it was
    forwarded, and the agency responded or its response is overdue (past ``response_due``, whether
    or not the sweep has flagged it yet)."""
    if complaint.status == ComplaintStatus.RESPONDED:
        return True
    if complaint.status != ComplaintStatus.FORWARDED:
        return False
    return complaint.response_overdue or (complaint.response_due is not None and today > complaint.response_due)


async def resolve_complaint(
    uow: UnitOfWork, *, complaint_id: uuid.UUID, outcome: ComplaintOutcome, notes: str, if_match: Precondition
) -> ComplaintSeen:
    """Closed with its outcome; an upheld complaint costs the agency credit; on the audit trail."""
    async with uow:
        complaints = Complaints(uow.session)
        complaint = await complaints.get(complaint_id, uow.principal, write=True)
        COMPLAINT.authorize(RESOLVE, uow.principal.role)  # 403 before 412 before 409
        if_match.check(complaint.version)
        step = COMPLAINT.step(RESOLVE, complaint.status, uow.principal.role)
        if outcome == ComplaintOutcome.UPHELD and not heard(complaint, today=uow.clock.today()):
            raise Conflict(code=ErrorCode.COMPLAINT_NOT_HEARD, extra={"current_status": str(complaint.status)})
        complaint.status, complaint.outcome, complaint.notes = step.target, outcome, notes
        complaint.version += 1
        await complaints.add_step(
            complaint.id,
            status=complaint.status,
            at=uow.now,
            action=f"{step.target}:{outcome}",
            actor=uow.principal.actor,
            note=notes or None,
        )
        if step.emits:
            await uow.emit(step.emits, await events.located(uow.session, events.complaint_changed(complaint)))
        if outcome == ComplaintOutcome.UPHELD:
            record = await record_credit(
                uow, agency_id=complaint.agency_id, kind=CreditKind.COMPLAINT_UPHELD, ref=str(complaint.id)
            )
            complaint.credit_record_id = record.id if record is not None else None
        await uow.audit(
            action="complaint.closed",
            entity_type="complaint",
            entity_id=complaint.id,
            payload={"agency_id": str(complaint.agency_id), "outcome": str(outcome), "notes": notes},
        )
    log.info("audit.complaint.closed", complaint_id=str(complaint_id), outcome=str(outcome))
    return _seen(uow, complaint)


async def get_complaint(uow: UnitOfWork, *, complaint_id: uuid.UUID) -> ComplaintSeen:
    """The complaint and its timeline."""
    async with uow.read() as session:
        complaints = Complaints(session)
        complaint = await complaints.get(complaint_id, uow.principal)
        timeline = await complaints.timeline(complaint.id)
    return _seen(uow, complaint, timeline=timeline)


async def list_complaints(
    uow: UnitOfWork,
    *,
    status: ComplaintStatus | None,
    agency_id: uuid.UUID | None,
    overdue: bool | None,
    page: PageParams,
) -> Listing[ComplaintSeen]:
    async with uow.read() as session:
        listing = await Complaints(session).listing(
            uow.principal, status=status, agency_id=agency_id, overdue=overdue, page=page
        )
    return Listing([_seen(uow, c) for c in listing.items], listing.next_cursor)


async def export_complaints(
    uow: UnitOfWork, *, status: ComplaintStatus | None, agency_id: uuid.UUID | None, overdue: bool | None
) -> AsyncIterator[ComplaintSeen]:
    """Every complaint of the listing the caller may see (SPEC §12: the bureau exports them)."""
    return await every_row(
        lambda page: list_complaints(uow, status=status, agency_id=agency_id, overdue=overdue, page=page)
    )


async def flag_overdue_complaints(uow: UnitOfWork, *, as_of: date) -> dict[str, int]:
    """The response is overdue when a forwarded complaint is past ``response_due``; the resolution
    when one not closed is past ``resolve_due``. Each flag is set once (a conditional update) and
    put on the timeline."""
    async with uow:
        complaints = Complaints(uow.session)
        late_responses = await complaints.flag_late_responses(as_of, awaiting=COMPLAINT.sources_of(RESPOND))
        late_resolutions = await complaints.flag_late_resolutions(as_of, open_=COMPLAINT.sources_of(RESOLVE))
        for rows, action in ((late_responses, "response_overdue"), (late_resolutions, "resolution_overdue")):
            for complaint_id, status in rows:
                await complaints.add_step(complaint_id, status=status, at=uow.now, action=action, actor=SWEEP_ACTOR)
    return {"complaints_response_overdue": len(late_responses), "complaints_resolution_overdue": len(late_resolutions)}
