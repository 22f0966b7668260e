"""Agency filing and review (SPEC §7): domain functions, one explicit transaction each, no HTTP.
Create, read, list, edit and documents live here; the status transitions in transitions.py.

States::

    draft → submitted → approved | rejected | needs_more_info;  needs_more_info → submitted
    approved → suspended → approved (reinstate);  approved | suspended → revoked
    approved → expired (sweep);  approved | expired → submitted (renewal)

Decisions (recorded here; the lead copies them to docs/DECISIONS.md):

- Every change bumps ``version``; writes honour ``If-Match`` (412) after the row is locked.
- Every status change emits ``agency.<event>`` through the outbox in the same transaction, with
  the ``AgencyStatusChanged`` payload plus ``previous_status`` and ``filing_in_force``.
  ``request_changes`` emits ``agency.needs_more_info`` (added to the catalog: the SPEC lists no
  event for it, but every status change has one).
- Staff exclusivity blocks the submission with 422 ``staff.exclusive`` naming the certificate
  numbers and never the other agency (the stricter reading: a regulator would not accept a
  filing that counts someone else's engineer, so it never reaches review). Certificate numbers
  are compared by a normalised key (NFKC, upper case, no spaces or separators), so
  "ｒｓｅ 2026-001" and "RSE2026001" are one certificate. A certificate counts for an agency while it is submitted,
  approved or suspended (a suspension is temporary; letting another agency take the engineer
  would make reinstatement impossible); rejection, a request for changes, revocation and expiry
  release it. ``engineer_claim``'s primary key settles concurrent submissions.
- The other automatic checks never block the submission: the bureau decides, and approving over
  a failed check needs non-empty ``comments`` (422 ``review.override_comment_required`` naming
  the failed rules). Rejecting and requesting changes need ``comments`` too: an applicant must be
  told why.
- Renewal: ``submit`` from ``approved`` or ``expired``. An approved agency under renewal stays in
  the directory while its current filing is in force; approval gives a new ``valid_until``
  (approval date + ``filing_validity_years``) and keeps the agency's ``filing_no``.
- Filing numbers ``JM-TG-<year>-<nnnn>``: a counter per approval year, incremented by an upsert in
  the approving transaction, and a unique constraint on ``agency.filing_no``.
- Every regulatory act (review, suspend, reinstate, revoke, expire) is appended to the
  hash-chained audit trail in the same transaction.
- Authorization: creating needs role ``agency`` and body ``uscc`` = token ``org_uscc`` (403);
  editing, documents and submitting are for the owner agency; review, suspend, reinstate and
  revoke for the city bureau, the bureau of the agency's ``district_code`` and admin. Reading the
  full record (staff, certificates, phone, checks, documents): owner, governing bureau, admin.
  Any other authenticated caller gets the public profile of a listed agency (name, USCC,
  filing number, validity, service areas, engineer names) and 403 otherwise; anonymous 401.
  Lists: an agency sees its own filing, a district bureau its district, city bureau/admin all;
  enterprises 403.
- Documents may be added while the filing can still be submitted (draft, needs_more_info,
  approved and expired — the last two for renewal); ``kind`` is free text matching
  ``[a-z][a-z0-9_]{0,39}`` (e.g. ``business_license``); the type is decided by content: 415 for
  anything but PDF/PNG/JPEG, 413 past 10 MiB, 422 when empty. Downloads for the full-record readers.
- ``rejected`` is terminal (SPEC §7) and one agency per USCC: a rejected applicant cannot file
  again under its USCC. This follows the SPEC; the lead may want ``rejected → submitted``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Callable, Sequence

import sqlalchemy as sa
import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.app import ServiceContext
from shared.auth import Principal
from shared.clock import as_utc
from shared.errors import ErrorCode, Conflict, FieldError, Forbidden, InvalidTransition, NotFound
from shared.i18n import text
from shared.ids import new_id
from shared.pagination import PageParams, keyset, page_of

from services.registry import checks as checks_mod
from services.registry import directory
from services.registry.documents import StoredFile
from services.registry.events import engineer_names
from services.registry.models import Agency, AgencyDocument, AgencyStaff
from services.registry.schemas import (AgencyCreate, AgencyPublic, AgencyRead, AgencyUpdate, DocumentOut, StaffIn,
                                       StaffOut)

log = structlog.get_logger("registry.service")
Precondition = Callable[[int], None]

EDITABLE = frozenset({"draft", "needs_more_info"})
UPLOADABLE = frozenset({"draft", "needs_more_info", "approved", "expired"})
AGENCY = "机构备案"
STATUS_NAMES = {"draft": "草稿", "submitted": "已提交", "approved": "已备案", "rejected": "已驳回",
                "needs_more_info": "待补正", "suspended": "已暂停", "revoked": "已撤销", "expired": "已过期"}
ACTION_NAMES = {"submit": "提交备案", "approve": "批准", "reject": "驳回", "request_changes": "要求补正",
                "suspend": "暂停", "reinstate": "恢复", "revoke": "撤销", "expire": "过期",
                "update": "修改备案资料", "upload documents": "上传材料"}


def refused(status: str, action: str) -> InvalidTransition:
    """409 for an action the current status does not allow, in words a clerk understands."""
    return InvalidTransition(
        text(f"机构备案当前状态为「{STATUS_NAMES.get(status, status)}」，不能{ACTION_NAMES.get(action, action)}",
             f"The agency filing is {status}; it cannot {action.replace('_', ' ')}"), current=status, action=action)


@dataclass
class Loaded:
    agency: Agency
    staff: list[AgencyStaff]


def cursor_uuid(value: object) -> uuid.UUID:
    """A cursor value back to a UUID; anything else is a ValueError (422), never a 500."""
    return uuid.UUID(str(value))


# --- authorization ----------------------------------------------------------------------------
def is_owner(principal: Principal, agency: Agency) -> bool:
    return principal.role == "agency" and principal.is_org(agency.uscc)


def seesfull(principal: Principal, agency: Agency) -> bool:
    return is_owner(principal, agency) or principal.governs(agency.district_code)


def require_owner(principal: Principal, agency: Agency) -> None:
    if not is_owner(principal, agency):
        raise Forbidden(text("只有机构本身可以执行此操作", "Only the agency itself may do this"))


def require_governing(principal: Principal, agency: Agency) -> None:
    if not principal.governs(agency.district_code):
        raise Forbidden(text(f"只有市局或机构所在区县（{agency.district_code}）的应急管理部门可以执行此操作",
                             f"Only the city bureau or the bureau of district {agency.district_code} may do this"))


# --- loading and building ---------------------------------------------------------------------
async def load(session: AsyncSession, agency_id: uuid.UUID, *, lock: bool = False) -> Loaded:
    stmt = sa.select(Agency).where(Agency.id == agency_id)
    if lock:
        stmt = stmt.with_for_update()
    agency = (await session.execute(stmt)).scalar_one_or_none()
    if agency is None:
        raise NotFound(text("机构不存在", "No such agency"))
    staff = (await session.execute(sa.select(AgencyStaff).where(AgencyStaff.agency_id == agency_id)
                                   .order_by(AgencyStaff.position))).scalars().all()
    return Loaded(agency, list(staff))


async def _documents(session: AsyncSession, agency_id: uuid.UUID) -> list[AgencyDocument]:
    return list((await session.execute(sa.select(AgencyDocument).where(AgencyDocument.agency_id == agency_id)
                                       .order_by(AgencyDocument.id))).scalars().all())


def _staff_rows(agency_id: uuid.UUID, staff: Sequence[StaffIn]) -> list[AgencyStaff]:
    return [AgencyStaff(id=new_id(), agency_id=agency_id, position=i, name=s.name, role=s.role,
                        certificate_no=s.certificate_no, certificate_valid_until=s.certificate_valid_until,
                        full_time=s.full_time) for i, s in enumerate(staff)]


def _document_out(doc: AgencyDocument) -> DocumentOut:
    return DocumentOut(id=doc.id, sha256=doc.sha256, size=doc.size, kind=doc.kind, content_type=doc.content_type,
                       filename=doc.filename, created_at=as_utc(doc.created_at))


def full_record(loaded: Loaded, docs: Sequence[AgencyDocument]) -> AgencyRead:
    a = loaded.agency
    return AgencyRead(
        id=a.id, uscc=a.uscc, name=a.name, legal_representative=a.legal_representative, contact_phone=a.contact_phone,
        address=a.address, district_code=a.district_code, service_districts=list(a.service_districts),
        service_industries=list(a.service_industries),
        staff=[StaffOut(name=s.name, role=s.role, certificate_no=s.certificate_no,
                        certificate_valid_until=s.certificate_valid_until, full_time=s.full_time) for s in loaded.staff],
        qualifications=list(a.qualifications), status=a.status, version=a.version, filing_no=a.filing_no,
        valid_until=a.valid_until, checks=[checks_mod.render_check(c) for c in a.checks or []],
        documents=[_document_out(d) for d in docs], review_comments=a.review_comments, status_reason=a.status_reason,
        registered_engineers=engineer_names(loaded.staff), created_at=as_utc(a.created_at),
        updated_at=as_utc(a.updated_at), submitted_at=as_utc(a.submitted_at), approved_at=as_utc(a.approved_at),
    )


def public_profile(loaded: Loaded) -> AgencyPublic:
    a = loaded.agency
    return AgencyPublic(id=a.id, uscc=a.uscc, name=a.name, status=a.status, version=a.version,
                        district_code=a.district_code, filing_no=a.filing_no, valid_until=a.valid_until,
                        service_districts=list(a.service_districts), service_industries=list(a.service_industries),
                        registered_engineers=engineer_names(loaded.staff))


async def full(session: AsyncSession, loaded: Loaded) -> AgencyRead:
    return full_record(loaded, await _documents(session, loaded.agency.id))


def touch(ctx: ServiceContext, agency: Agency) -> None:
    agency.version += 1
    agency.updated_at = ctx.clock.now()


# --- create, read, update -----------------------------------------------------------------------
async def create_agency(ctx: ServiceContext, *, principal: Principal, data: AgencyCreate) -> AgencyRead:
    principal.require_role("agency")
    if principal.org_uscc != data.uscc:
        raise Forbidden(text("只能为本机构（令牌中的统一社会信用代码）备案", "An agency may file only for its own USCC"),
                        code=ErrorCode.USCC_MISMATCH)
    now = ctx.clock.now()
    agency = Agency(
        id=new_id(), uscc=data.uscc, name=data.name, legal_representative=data.legal_representative,
        contact_phone=data.contact_phone, address=data.address, district_code=data.district_code,
        service_districts=list(data.service_districts), service_industries=[str(i) for i in data.service_industries],
        qualifications=[q.model_dump(mode="json") for q in data.qualifications], status="draft", version=1,
        checks=[], created_by=principal.actor, created_at=now, updated_at=now,
    )
    staff = _staff_rows(agency.id, data.staff)
    try:
        async with ctx.db.transaction() as session:
            exists = (await session.execute(sa.select(Agency.id).where(Agency.uscc == data.uscc))).first()
            if exists:
                raise _duplicate_uscc()
            session.add(agency)
            await session.flush()
            session.add_all(staff)
            await session.flush()
    except IntegrityError as exc:  # a concurrent filing for the same USCC
        raise _duplicate_uscc() from exc
    return full_record(Loaded(agency, staff), [])


def _duplicate_uscc() -> Conflict:
    return Conflict(text("该统一社会信用代码已有备案记录", "An agency with this USCC already exists"), code=ErrorCode.DUPLICATE_USCC,
                    errors=[FieldError("uscc", text("已存在", "already exists"))])


async def get_agency(ctx: ServiceContext, *, principal: Principal, agency_id: uuid.UUID) -> AgencyRead | AgencyPublic:
    async with ctx.db.reader() as session:
        loaded = await load(session, agency_id)
        if seesfull(principal, loaded.agency):
            return await full(session, loaded)
        if loaded.agency.status == "approved" or await directory.is_listed(session, agency_id):
            return public_profile(loaded)
    raise Forbidden(text("无权查看该机构的备案资料", "You may not see this agency's filing"))


async def list_agencies(ctx: ServiceContext, *, principal: Principal, status: str | None, district: str | None,
                        params: PageParams) -> tuple[list[AgencyRead], str | None]:
    stmt = sa.select(Agency)
    if principal.role == "agency":
        stmt = stmt.where(Agency.uscc == (principal.org_uscc or ""))
    elif principal.is_bureau and not principal.sees_everything:
        stmt = stmt.where(Agency.district_code == (principal.district or ""))
    elif not principal.sees_everything:
        raise Forbidden(text("无权查看机构备案列表", "You may not list agency filings"))
    if status:
        stmt = stmt.where(Agency.status == status)
    if district:
        stmt = stmt.where(Agency.district_code == district)
    async with ctx.db.reader() as session:
        rows = (await session.execute(keyset(stmt, [Agency.id], params, convert=[cursor_uuid]))).scalars().all()
        page, cursor = page_of(rows, params, key=lambda a: [a.id])
        ids = [a.id for a in page]
        staff = (await session.execute(sa.select(AgencyStaff).where(AgencyStaff.agency_id.in_(ids))
                                       .order_by(AgencyStaff.position))).scalars().all() if ids else []
        docs = (await session.execute(sa.select(AgencyDocument).where(AgencyDocument.agency_id.in_(ids))
                                      .order_by(AgencyDocument.id))).scalars().all() if ids else []
    return [full_record(Loaded(a, [s for s in staff if s.agency_id == a.id]), [d for d in docs if d.agency_id == a.id])
            for a in page], cursor


async def update_agency(ctx: ServiceContext, *, principal: Principal, agency_id: uuid.UUID, data: AgencyUpdate,
                        precondition: Precondition) -> AgencyRead:
    async with ctx.db.transaction() as session:
        loaded = await load(session, agency_id, lock=True)
        agency = loaded.agency
        require_owner(principal, agency)
        precondition(agency.version)
        if agency.status not in EDITABLE:
            raise refused(agency.status, "update")
        fields = data.model_fields_set
        for key in ("name", "legal_representative", "contact_phone", "address", "district_code"):
            if key in fields:
                setattr(agency, key, getattr(data, key))
        if "service_districts" in fields:
            agency.service_districts = list(data.service_districts or [])
        if "service_industries" in fields:
            agency.service_industries = [str(i) for i in data.service_industries or []]
        if "qualifications" in fields:
            agency.qualifications = [q.model_dump(mode="json") for q in data.qualifications or []]
        if "staff" in fields:
            await session.execute(sa.delete(AgencyStaff.__table__).where(AgencyStaff.__table__.c.agency_id == agency.id))
            loaded.staff = _staff_rows(agency.id, data.staff or [])
            session.add_all(loaded.staff)
        touch(ctx, agency)
        await session.flush()
        return await full(session, loaded)


async def add_document(ctx: ServiceContext, *, principal: Principal, agency_id: uuid.UUID, kind: str,
                       filename: str | None, stored: StoredFile, precondition: Precondition) -> DocumentOut:
    async with ctx.db.transaction() as session:
        loaded = await load(session, agency_id, lock=True)
        check_can_upload(principal, loaded.agency)
        precondition(loaded.agency.version)
        doc = AgencyDocument(id=new_id(), agency_id=agency_id, kind=kind, filename=filename, sha256=stored.sha256,
                             size=stored.size, content_type=stored.content_type, uploaded_by=principal.actor,
                             created_at=ctx.clock.now())
        session.add(doc)
        touch(ctx, loaded.agency)
        await session.flush()
        return _document_out(doc)


async def document_for_download(ctx: ServiceContext, *, principal: Principal, agency_id: uuid.UUID,
                                document_id: uuid.UUID) -> AgencyDocument:
    """A filing's document, for the agency itself, its governing bureau and admin."""
    async with ctx.db.reader() as session:
        loaded = await load(session, agency_id)
        if not seesfull(principal, loaded.agency):
            raise Forbidden(text("无权查看该机构的备案材料", "You may not see this agency's documents"))
        doc = (await session.execute(sa.select(AgencyDocument).where(
            AgencyDocument.id == document_id, AgencyDocument.agency_id == agency_id))).scalar_one_or_none()
    if doc is None:
        raise NotFound(text("材料不存在", "No such document"))
    return doc


async def authorize_upload(ctx: ServiceContext, *, principal: Principal, agency_id: uuid.UUID) -> None:
    """Checked before the body is read, so that nobody else's upload is ever stored."""
    async with ctx.db.reader() as session:
        loaded = await load(session, agency_id)
    check_can_upload(principal, loaded.agency)


def check_can_upload(principal: Principal, agency: Agency) -> None:
    require_owner(principal, agency)
    if agency.status not in UPLOADABLE:
        raise refused(agency.status, "upload documents")
