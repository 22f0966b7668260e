"""Complaints (投诉): an enterprise or the anonymous public complains about an agency; the bureau
forwards (通报) it to the agency, the agency responds, the bureau resolves it (upheld costs the
agency credit). Overdue flags are set by sweep; every step is on the complaint's timeline.

The complaint's district — whose bureau handles it — is the district of the contract's
enterprise, else of the complaining enterprise, else of the agency.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import date, timedelta
from typing import Any, Callable

import sqlalchemy as sa
import structlog

from shared.app import ServiceContext
from shared.audit_trail import append as trail_append
from shared.auth import Principal
from shared.errors import ErrorCode, FieldError, Forbidden, InvalidTransition, ValidationFailed
from shared.i18n import text
from shared.ids import new_id
from shared.pagination import PageParams, keyset, page_of

from services.audit.models import Complaint, ComplaintStep, ContractView
from services.audit.schemas import ComplaintCreate
from services.audit.service import credit
from services.audit.service.common import agency, agency_ids_of, enterprise, forbid, not_found

log = structlog.get_logger("audit.complaints")


def event_of(c: Complaint) -> dict[str, Any]:
    return {"id": str(c.id), "version": c.version, "agency_id": str(c.agency_id), "status": c.status,
            "category": c.category, "district_code": c.district_code,
            "contract_id": str(c.contract_id) if c.contract_id else None, "outcome": c.outcome,
            "response_due": c.response_due.isoformat() if c.response_due else None}


async def _step(session: Any, c: Complaint, *, at: Any, action: str, actor: str, note: str | None = None) -> None:
    session.add(ComplaintStep(complaint_id=c.id, at=at, action=action, status=c.status, actor=actor, note=note))


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


async def submit(ctx: ServiceContext, *, principal: Principal | None, body: ComplaintCreate) -> tuple[Complaint, str | None]:
    """Returns the complaint and, for an anonymous one, its tracking code (shown once)."""
    if principal is not None and principal.role != "enterprise":
        raise Forbidden(text("投诉由企业或公众（匿名）提出", "Complaints come from enterprises or, anonymously, the public"))
    if principal is None and not body.contact_phone:
        raise ValidationFailed(text("匿名投诉须留联系电话", "An anonymous complaint needs a contact phone"),
                               code=ErrorCode.CONTACT_PHONE_REQUIRED,
                               errors=[FieldError("contact_phone", text("必填", "required"))])
    now, today = ctx.clock.now(), ctx.clock.today()
    code = secrets.token_urlsafe(12) if principal is None else None
    async with ctx.db.transaction() as session:
        a = await agency(session, body.agency_id)
        if a is None:
            raise ValidationFailed(text("机构不存在", "Unknown agency"), code=ErrorCode.UNKNOWN_AGENCY,
                                   errors=[FieldError("agency_id", text("机构不存在", "unknown agency"))])
        district = None
        if body.contract_id is not None:
            c = (await session.execute(sa.select(ContractView).where(ContractView.id == body.contract_id))).scalar_one_or_none()
            if c is None:
                raise ValidationFailed(text("合同不存在", "Unknown contract"), code=ErrorCode.UNKNOWN_CONTRACT,
                                       errors=[FieldError("contract_id", text("合同不存在", "unknown contract"))])
            if c.agency_id != body.agency_id:
                raise ValidationFailed(text("合同不属于该机构", "The contract is not the agency's"), code=ErrorCode.CONTRACT_AGENCY_MISMATCH,
                                       errors=[FieldError("contract_id", text("合同不属于该机构", "not this agency's contract"))])
            if principal is not None and not principal.is_org(c.enterprise_uscc):
                raise ValidationFailed(text("只能就本企业的合同投诉", "You may complain about your own contracts only"),
                                       code=ErrorCode.CONTRACT_NOT_YOURS,
                                       errors=[FieldError("contract_id", text("不是本企业的合同", "not your contract"))])
            district = c.district_code
        if district is None and principal is not None:
            e = await enterprise(session, principal.org_uscc or "")
            district = e.district_code if e else None
        district = district or a.district_code
        complaint = Complaint(id=new_id(), agency_id=a.id, contract_id=body.contract_id, district_code=district,
                              complainant_uscc=principal.org_uscc if principal else None, contact_phone=body.contact_phone,
                              anonymous=principal is None, tracking_sha256=_digest(code) if code else None,
                              category=body.category, description=body.description,
                              status="received", received_on=today,
                              resolve_due=today + timedelta(days=ctx.policy.complaint_resolve_days), created_at=now)
        session.add(complaint)
        await session.flush()
        await _step(session, complaint, at=now, action="received", actor=principal.actor if principal else "anonymous")
        await ctx.outbox.emit(session, "complaint.received", event_of(complaint))
    log.info("audit.complaint.received", complaint_id=str(complaint.id), anonymous=complaint.anonymous)
    return complaint, code


async def track(ctx: ServiceContext, *, complaint_id: uuid.UUID, code: str) -> tuple[Complaint, list[ComplaintStep]]:
    """An anonymous complainant's view: the same answer (404) for an unknown id and a wrong code."""
    async with ctx.db.reader() as session:
        c = (await session.execute(sa.select(Complaint).where(Complaint.id == complaint_id))).scalar_one_or_none()
        expected = c.tracking_sha256 if c is not None and c.tracking_sha256 else _digest(secrets.token_urlsafe(12))
        if c is None or not hmac.compare_digest(expected, _digest(code)):
            raise not_found("投诉")
        steps = (await session.execute(sa.select(ComplaintStep).where(ComplaintStep.complaint_id == c.id)
                                       .order_by(ComplaintStep.seq))).scalars().all()
    return c, list(steps)


async def _locked(session: Any, complaint_id: uuid.UUID) -> Complaint:
    c = (await session.execute(sa.select(Complaint).where(Complaint.id == complaint_id).with_for_update())).scalar_one_or_none()
    if c is None:
        raise not_found("投诉")
    return c


async def forward(ctx: ServiceContext, *, principal: Principal, complaint_id: uuid.UUID, note: str | None,
                  if_match: Callable[[int], None] | None = None) -> Complaint:
    principal.require_role("bureau", "admin")
    now, today = ctx.clock.now(), ctx.clock.today()
    async with ctx.db.transaction() as session:
        c = await _locked(session, complaint_id)
        if not principal.governs(c.district_code):
            raise forbid("只有投诉所属区县的应急管理局或市局可以通报", "Only the complaint's district bureau or the city bureau may forward it")
        if if_match:
            if_match(c.version)
        if c.status != "received":
            raise InvalidTransition(text(f"投诉当前状态为 {c.status}，不能执行 forward", f"The complaint is {c.status}; cannot forward"), current=c.status, action="forward")
        c.status, c.response_due = "forwarded", today + timedelta(days=ctx.policy.complaint_response_days)
        c.version += 1
        await session.flush()
        await _step(session, c, at=now, action="forwarded", actor=principal.actor, note=note)
        await ctx.outbox.emit(session, "complaint.forwarded", event_of(c))
    return c


async def respond(ctx: ServiceContext, *, principal: Principal, complaint_id: uuid.UUID, response: str,
                  if_match: Callable[[int], None] | None = None) -> Complaint:
    principal.require_role("agency")
    now = ctx.clock.now()
    async with ctx.db.transaction() as session:
        c = await _locked(session, complaint_id)
        if c.agency_id not in await agency_ids_of(session, principal.org_uscc):
            raise forbid("只有被投诉机构可以答复", "Only the agency complained about may respond")
        if if_match:
            if_match(c.version)
        if c.status != "forwarded":
            raise InvalidTransition(text(f"投诉当前状态为 {c.status}，不能执行 respond", f"The complaint is {c.status}; cannot respond"), current=c.status, action="respond")
        c.status, c.response = "responded", response
        c.version += 1
        await session.flush()
        await _step(session, c, at=now, action="responded", actor=principal.actor, note=response)
        await ctx.outbox.emit(session, "complaint.responded", event_of(c))
    return c


async def resolve(ctx: ServiceContext, *, principal: Principal, complaint_id: uuid.UUID, outcome: str, notes: str,
                  if_match: Callable[[int], None] | None = None) -> Complaint:
    principal.require_role("bureau", "admin")
    now = ctx.clock.now()
    async with ctx.db.transaction() as session:
        c = await _locked(session, complaint_id)
        if not principal.governs(c.district_code):
            raise forbid("只有投诉所属区县的应急管理局或市局可以办结", "Only the complaint's district bureau or the city bureau may resolve it")
        if if_match:
            if_match(c.version)
        if c.status == "closed":
            raise InvalidTransition(text(f"投诉当前状态为 {c.status}，不能执行 resolve", f"The complaint is {c.status}; cannot resolve"), current=c.status, action="resolve")
        c.status, c.outcome, c.notes = "closed", outcome, notes
        c.version += 1
        await session.flush()
        await _step(session, c, at=now, action=f"closed:{outcome}", actor=principal.actor, note=notes or None)
        await ctx.outbox.emit(session, "complaint.closed", event_of(c))
        if outcome == "upheld":
            await credit.record(session, ctx, agency_id=c.agency_id, kind="complaint_upheld", ref=str(c.id), at=now)
        await trail_append(session, ctx.infra.audit_trail, at=now, actor=principal.actor, action="complaint.closed",
                           entity_type="complaint", entity_id=str(c.id),
                           payload={"agency_id": str(c.agency_id), "outcome": outcome, "notes": notes})
    log.info("audit.complaint.closed", complaint_id=str(complaint_id), outcome=outcome)
    return c


async def _visible(session: Any, principal: Principal, c: Complaint) -> bool:
    if principal.role == "agency":
        return c.status != "received" and c.agency_id in await agency_ids_of(session, principal.org_uscc)
    if principal.role == "enterprise":
        return c.complainant_uscc is not None and principal.is_org(c.complainant_uscc)
    return principal.governs(c.district_code)


async def get(ctx: ServiceContext, *, principal: Principal, complaint_id: uuid.UUID) -> tuple[Complaint, list[ComplaintStep]]:
    async with ctx.db.reader() as session:
        c = (await session.execute(sa.select(Complaint).where(Complaint.id == complaint_id))).scalar_one_or_none()
        if c is None:
            raise not_found("投诉")
        if not await _visible(session, principal, c):
            raise forbid("无权查看该投诉", "You may not see this complaint")
        steps = (await session.execute(sa.select(ComplaintStep).where(ComplaintStep.complaint_id == c.id)
                                       .order_by(ComplaintStep.seq))).scalars().all()
    return c, list(steps)


async def listing(ctx: ServiceContext, *, principal: Principal, status: str | None, agency_id: uuid.UUID | None,
                  overdue: bool | None, page: PageParams) -> tuple[list[Complaint], str | None]:
    async with ctx.db.reader() as session:
        stmt = sa.select(Complaint)
        if principal.role == "agency":
            ids = await agency_ids_of(session, principal.org_uscc)
            stmt = stmt.where(Complaint.agency_id.in_(sorted(ids)) if ids else sa.false(), Complaint.status != "received")
        elif principal.role == "enterprise":
            stmt = stmt.where(Complaint.complainant_uscc == principal.org_uscc if principal.org_uscc else sa.false())
        elif not principal.sees_everything:
            stmt = stmt.where(Complaint.district_code == principal.district if principal.is_bureau and principal.district else sa.false())
        if status:
            stmt = stmt.where(Complaint.status == status)
        if agency_id:
            stmt = stmt.where(Complaint.agency_id == agency_id)
        if overdue is not None:
            flag = sa.or_(Complaint.response_overdue, Complaint.resolution_overdue)
            stmt = stmt.where(flag if overdue else sa.not_(flag))
        stmt = keyset(stmt, [Complaint.id], page, convert=[uuid.UUID])
        rows = (await session.execute(stmt)).scalars().all()
    return page_of(rows, page, lambda r: [r.id])


async def sweep_overdue(ctx: ServiceContext, as_of: date) -> dict[str, int]:
    """Flags (sticky: a complaint that was late stays marked late): the response is overdue when
    forwarded and past ``response_due``; the resolution is overdue when not closed past
    ``resolve_due`` (receipt + complaint_resolve_days). Conditional updates: each flag set once."""
    now = ctx.clock.now()
    counts = {"complaints_response_overdue": 0, "complaints_resolution_overdue": 0}
    async with ctx.db.transaction() as session:
        late_response = (await session.execute(sa.update(Complaint).where(
            Complaint.status == "forwarded", Complaint.response_due < as_of, Complaint.response_overdue.is_(False))
            .values(response_overdue=True, version=Complaint.version + 1).returning(Complaint.id)
            .execution_options(synchronize_session=False))).scalars().all()
        late_resolution = (await session.execute(sa.update(Complaint).where(
            Complaint.status != "closed", Complaint.resolve_due < as_of, Complaint.resolution_overdue.is_(False))
            .values(resolution_overdue=True, version=Complaint.version + 1).returning(Complaint.id)
            .execution_options(synchronize_session=False))).scalars().all()
        for ids, action in ((late_response, "response_overdue"), (late_resolution, "resolution_overdue")):
            for complaint_id in ids:
                status = (await session.execute(sa.select(Complaint.status).where(Complaint.id == complaint_id))).scalar_one()
                session.add(ComplaintStep(complaint_id=complaint_id, at=now, action=action, status=status, actor="system:sweep"))
        counts["complaints_response_overdue"] = len(late_response)
        counts["complaints_resolution_overdue"] = len(late_resolution)
    return counts
