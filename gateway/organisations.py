"""Organisations (SPEC §14): an account acts for an agency or an enterprise only once that binding
is verified — nobody becomes an organisation by typing its USCC.

- The first sign-up of a USCC opens a ``pending`` organisation and is its admin; later accounts
  join only with a single-use invitation of that organisation (``organisation_exists`` otherwise).
- The bureau of the organisation's district (USCC positions 3–8 when that is a district of the
  jurisdiction data, else the city) verifies or rejects it; approving an agency's first filing
  verifies it too (gateway/consumers.py). Suspension, reinstatement, and reassignment of the admin
  role recover from a wrong claim: the old admin and the accounts it invited are removed from the
  organisation and disabled, and their live tokens stop working at every service (gateway/revocation.py).
- Members' tokens carry ``org_status``; services refuse writes of an unverified one (shared.auth).
- Writes run on the request's unit of work (``UoW``, shared/uow.py): the organisation's events,
  the accounts it removes (``account.removed``) and the revocations commit together.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

import sqlalchemy as sa
import structlog
from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from gateway import events, revocation
from gateway.context import Gw
from gateway.models import Account, Invitation, Organisation
from gateway.oauth.grants import digest
from gateway.problems import ERRORS
from gateway.states import ORGANISATION, REINSTATE, REJECT, SUSPEND, VERIFY, OrgStatus
from shared.app import UoW
from shared.auth import CurrentPrincipal, Principal
from shared.clock import as_utc
from shared.errors import Conflict, ErrorCode, FieldError, Forbidden, NotFound, ValidationFailed
from shared.http import IfMatch, Precondition, with_etag
from shared.i18n import text
from shared.pagination import PageParams, keyset, page_of, page_params
from shared.reference import load_jurisdiction
from shared.uow import UnitOfWork
from shared.validation import no_control

log = structlog.get_logger("gateway.organisations")

INVITATION_TTL = timedelta(days=7)
account_table = Account.__table__
USCC_PATH = Annotated[str, Path(min_length=1, max_length=40)]


def district_of(uscc: str) -> str:
    """The registering authority's division (USCC positions 3–8) when it is a district of the
    jurisdiction data, else the city."""
    jurisdiction = load_jurisdiction()
    code = uscc[2:8]
    return code if jurisdiction.is_district(code) else jurisdiction.city.code


# --- schemas -----------------------------------------------------------------------------------
Reason = Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(no_control)]


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["verify", "reject"]
    comments: Annotated[str, Field(max_length=2000), AfterValidator(no_control)] = ""


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason


class ReassignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_id: uuid.UUID
    reason: Reason


class InvitationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OrganisationRead(BaseModel):
    uscc: str
    kind: str
    name: str
    status: str
    district: str
    admin_account_id: str | None = None
    verified_at: str | None = None
    status_reason: str | None = None
    decided_by: str | None = None
    version: int
    created_at: str
    updated_at: str


class OrganisationPage(BaseModel):
    items: list[OrganisationRead]
    next_cursor: str | None = None


class MemberRead(BaseModel):
    id: str
    username: str
    display_name: str | None = None
    role: str
    is_admin: bool
    created_at: str


class MembersRead(BaseModel):
    uscc: str
    items: list[MemberRead]


class InvitationRead(BaseModel):
    code: str = Field(description="只显示这一次，一次有效 / shown once, single use")
    expires_at: str


def read(org: Organisation) -> dict[str, Any]:
    return {
        "uscc": org.uscc,
        "kind": org.kind,
        "name": org.name,
        "status": org.status,
        "district": org.district,
        "admin_account_id": str(org.admin_account_id) if org.admin_account_id else None,
        "verified_at": as_utc(org.verified_at).isoformat() if org.verified_at else None,
        "status_reason": org.status_reason,
        "decided_by": org.decided_by,
        "version": org.version,
        "created_at": as_utc(org.created_at).isoformat(),
        "updated_at": as_utc(org.updated_at).isoformat(),
    }


# --- domain ------------------------------------------------------------------------------------
def new_organisation(
    *, uscc: str, kind: str, name: str, status: str, admin_id: uuid.UUID, now: datetime, decided_by: str | None = None
) -> Organisation:
    return Organisation(
        uscc=uscc,
        kind=kind,
        name=name[:200],
        status=status,
        district=district_of(uscc),
        admin_account_id=admin_id,
        verified_at=now if status == "verified" else None,
        decided_by=decided_by,
        version=1,
        created_at=now,
        updated_at=now,
    )


async def claim_invitation(
    session: AsyncSession, code: str, uscc: str, account_id: uuid.UUID, now: datetime
) -> uuid.UUID | None:
    """Spend an invitation of ``uscc`` (once, even under concurrency); its creator, or None."""
    table = Invitation.__table__
    row = (
        await session.execute(
            sa.update(table)
            .where(
                table.c.code_hash == digest(code),
                table.c.org_uscc == uscc,
                table.c.used_at.is_(None),
                table.c.expires_at > now,
            )
            .values(used_at=now, used_by=account_id)
            .returning(table.c.created_by)
        )
    ).first()
    return row.created_by if row is not None else None


async def invitation_usable(session: AsyncSession, code: str, uscc: str, now: datetime) -> bool:
    row = await session.get(Invitation, digest(code))
    return row is not None and row.org_uscc == uscc and row.used_at is None and as_utc(row.expires_at) > now


def organisation_exists() -> Conflict:
    return Conflict(
        text(
            "该统一社会信用代码的组织已在平台登记。请向本组织的管理员索取邀请码后注册；如果组织被他人冒领，请联系所在区应急管理局处理",
            "An organisation with this USCC is already registered. Ask your organisation's administrator for an "
            "invitation code; if someone else claimed your organisation, contact your district bureau",
        ),
        code=ErrorCode.ORGANISATION_EXISTS,
        errors=[FieldError("org_uscc", text("组织已存在", "organisation exists"))],
    )


def invitation_invalid() -> Conflict:
    return Conflict(
        text("邀请码无效、已使用或已过期", "The invitation code is invalid, used or expired"),
        code=ErrorCode.INVITATION_INVALID,
        errors=[FieldError("invitation", text("无效", "invalid"))],
    )


async def _load(session: AsyncSession, uscc: str, *, lock: bool = False) -> Organisation:
    stmt = sa.select(Organisation).where(col(Organisation.uscc) == uscc)
    org = await session.scalar(stmt.with_for_update() if lock else stmt)
    if org is None:
        raise NotFound(text("组织不存在", "No such organisation"))
    return org


def _is_member(principal: Principal, org: Organisation) -> bool:
    return principal.acts_for_org and principal.org_uscc == org.uscc


def _is_org_admin(principal: Principal, org: Organisation) -> bool:
    return _is_member(principal, org) and str(org.admin_account_id) == principal.subject


def _governing(principal: Principal, org: Organisation) -> None:
    if not (principal.is_admin or (principal.is_bureau and principal.governs(org.district))):
        raise Forbidden(
            text(
                "只有组织所在区的应急管理局、市局或管理员可以办理",
                "Only the organisation's district bureau, the city bureau or an admin may do this",
            )
        )


async def _members(session: AsyncSession, uscc: str) -> list[Account]:
    return list(
        (
            await session.execute(
                sa.select(Account)
                .where(col(Account.org_uscc) == uscc, col(Account.disabled).is_(False))
                .order_by(col(Account.created_at), col(Account.id))
            )
        )
        .scalars()
        .all()
    )


def _change(org: Organisation, status: str, *, by: Principal, reason: str | None, now: datetime) -> str:
    previous = org.status
    org.status, org.status_reason, org.decided_by, org.updated_at = status, reason, by.actor[:100], now
    if status == "verified":
        org.verified_at = now
    org.version += 1
    return previous


async def detach(uow: UnitOfWork, gw: Any, accounts: list[Account], *, reason: str) -> None:
    """Remove accounts from their organisation: disabled, no longer bound to it, announced
    (``account.removed``), every live token cut off at the gateway and at every service."""
    if not accounts:
        return
    now = uow.now
    for account in accounts:
        account.org_uscc = None
        account.disabled, account.disabled_at, account.disabled_reason = True, now, reason[:500]
        account.version += 1
    await uow.session.flush()
    await revocation.cut_off(uow, gw.revocations, subjects=[str(a.id) for a in accounts], reason=reason[:200])
    for account in accounts:
        await events.account_removed(uow, account)


async def decide(gw: Any, uow: UnitOfWork, uscc: str, body: Decision, if_match: Precondition) -> Organisation:
    principal = uow.principal
    async with uow:
        session = uow.session
        org = await _load(session, uscc, lock=True)
        _governing(principal, org)
        if_match.check(org.version)
        now = uow.now
        if body.decision == "verify":
            ORGANISATION.step(VERIFY, org.status)
            previous = _change(org, "verified", by=principal, reason=body.comments or None, now=now)
            await session.flush()
            await events.organisation_verified(uow, org, previous=previous, reason=body.comments or None)
        else:
            ORGANISATION.step(REJECT, org.status)
            previous = _change(org, "rejected", by=principal, reason=body.comments or None, now=now)
            await session.flush()
            await _cut_members(uow, gw, org.uscc, reason="organisation rejected")
            await events.organisation_rejected(uow, org, previous=previous, reason=body.comments or None)
    log.info("gateway.organisation.decided", uscc=uscc, decision=body.decision, by=principal.actor)
    return org


async def _cut_members(uow: UnitOfWork, gw: Any, uscc: str, *, reason: str) -> None:
    """Members keep their accounts, but tokens issued before now (carrying the old status) die."""
    members = await _members(uow.session, uscc)
    await revocation.cut_off(uow, gw.revocations, subjects=[str(a.id) for a in members], reason=reason)


async def suspend(gw: Any, uow: UnitOfWork, uscc: str, reason: str, if_match: Precondition) -> Organisation:
    principal = uow.principal
    async with uow:
        session = uow.session
        org = await _load(session, uscc, lock=True)
        _governing(principal, org)
        if_match.check(org.version)
        ORGANISATION.step(SUSPEND, org.status)
        previous = _change(org, "suspended", by=principal, reason=reason, now=uow.now)
        await session.flush()
        await _cut_members(uow, gw, org.uscc, reason="organisation suspended")
        await events.organisation_suspended(uow, org, previous=previous, reason=reason)
    return org


async def reinstate(uow: UnitOfWork, uscc: str, reason: str, if_match: Precondition) -> Organisation:
    principal = uow.principal
    async with uow:
        session = uow.session
        org = await _load(session, uscc, lock=True)
        _governing(principal, org)
        if_match.check(org.version)
        status = OrgStatus.VERIFIED if org.verified_at is not None else OrgStatus.PENDING
        ORGANISATION.step(REINSTATE, org.status, to=status)
        previous = org.status
        org.status, org.status_reason, org.decided_by = status, reason, principal.actor[:100]
        org.updated_at = uow.now
        org.version += 1
        await session.flush()
        await events.organisation_reinstated(uow, org, previous=previous, reason=reason)
    return org


async def reassign(gw: Any, uow: UnitOfWork, uscc: str, body: ReassignIn, if_match: Precondition) -> Organisation:
    """Hand the admin role to ``account_id`` (a member: an admin makes the rightful owner's account
    with ``POST /api/v1/admin/accounts``). The old admin and the accounts it invited are removed and
    disabled, their tokens cut off; a pending or rejected organisation is verified (the bureau has
    established who the rightful owner is)."""
    principal = uow.principal
    async with uow:
        session = uow.session
        org = await _load(session, uscc, lock=True)
        _governing(principal, org)
        if_match.check(org.version)
        target = await session.get(Account, body.account_id)
        if target is None or target.org_uscc != org.uscc or target.disabled:
            raise ValidationFailed(
                text(
                    "新管理员须是该组织的有效成员（可由管理员以该统一社会信用代码创建账号）",
                    "The new admin must be an active member of the organisation (an admin can "
                    "create the account with this org_uscc)",
                ),
                errors=[FieldError("account_id", text("不是该组织的成员", "not a member"))],
            )
        if org.admin_account_id == target.id:
            raise Conflict(
                text("该账号已是组织管理员", "That account is the admin already"), code=ErrorCode.ALREADY_ADMIN
            )
        old_admin = (
            await session.get(Account, org.admin_account_id, with_for_update=True) if org.admin_account_id else None
        )
        removed = [old_admin] if old_admin is not None else []
        if old_admin is not None:
            removed += list(
                (
                    await session.execute(
                        sa.select(Account)
                        .where(account_table.c.org_uscc == org.uscc, account_table.c.invited_by == old_admin.id)
                        .where(account_table.c.id != target.id)
                        .with_for_update()
                    )
                )
                .scalars()
                .all()
            )
        previous = org.status
        org.admin_account_id = target.id
        now = uow.now
        if org.status in ("pending", "rejected"):
            org.status, org.verified_at = "verified", now
        org.status_reason, org.decided_by, org.updated_at = body.reason, principal.actor[:100], now
        org.version += 1
        await session.flush()
        await detach(
            uow,
            gw,
            [a for a in removed if a.id != target.id],
            reason=f"organisation {org.uscc} reassigned: {body.reason}",
        )
        await events.organisation_reassigned(uow, org, previous=previous, reason=body.reason)
        if previous != org.status:
            await events.organisation_verified(uow, org, previous=previous, reason=body.reason)
    log.warning(
        "gateway.organisation.reassigned",
        uscc=uscc,
        new_admin=str(body.account_id),
        by=principal.actor,
        removed=[str(a.id) for a in removed],
    )
    return org


async def invite(uow: UnitOfWork, uscc: str) -> dict[str, str]:
    principal = uow.principal
    async with uow:
        session = uow.session
        org = await _load(session, uscc)
        if not _is_org_admin(principal, org):
            raise Forbidden(text("只有本组织的管理员可以发出邀请", "Only the organisation's admin may invite"))
        if org.status != "verified":
            raise Forbidden(
                text("组织通过核验后才能邀请成员", "Only a verified organisation may invite members"),
                code=ErrorCode.ORGANISATION_UNVERIFIED,
            )
        code = f"inv_{secrets.token_urlsafe(24)}"
        now = uow.now
        expires = now + INVITATION_TTL
        session.add(
            Invitation(
                code_hash=digest(code),
                org_uscc=uscc,
                created_by=uuid.UUID(principal.subject),
                created_at=now,
                expires_at=expires,
            )
        )
    return {"code": code, "expires_at": expires.isoformat()}


async def get(gw: Any, principal: Principal, uscc: str) -> Organisation:
    async with gw.db.reader() as session:
        org = await _load(session, uscc)
    if not (
        _is_member(principal, org) or principal.is_admin or (principal.is_bureau and principal.governs(org.district))
    ):
        raise NotFound(text("组织不存在", "No such organisation"))
    return org


async def members(gw: Any, principal: Principal, uscc: str) -> list[dict[str, Any]]:
    async with gw.db.reader() as session:
        org = await _load(session, uscc)
        if not (
            _is_org_admin(principal, org)
            or principal.is_admin
            or (principal.is_bureau and principal.governs(org.district))
        ):
            raise Forbidden(
                text(
                    "只有本组织的管理员、所在区应急管理局或管理员可以查看成员",
                    "Only the organisation's admin, its bureau or an admin may list its members",
                )
            )
        rows = await _members(session, uscc)
    return [
        {
            "id": str(a.id),
            "username": a.username,
            "display_name": a.display_name,
            "role": a.role,
            "is_admin": a.id == org.admin_account_id,
            "created_at": as_utc(a.created_at).isoformat(),
        }
        for a in rows
    ]


async def remove_member(gw: Any, uow: UnitOfWork, uscc: str, account_id: uuid.UUID) -> None:
    principal = uow.principal
    async with uow:
        session = uow.session
        org = await _load(session, uscc, lock=True)
        if not _is_org_admin(principal, org):
            raise Forbidden(text("只有本组织的管理员可以移除成员", "Only the organisation's admin may remove members"))
        account = await session.get(Account, account_id, with_for_update=True)
        if account is None or account.org_uscc != uscc:
            raise NotFound(text("该账号不是本组织成员", "That account is not a member"))
        if account.id == org.admin_account_id:
            raise Conflict(
                text(
                    "管理员不能移除自己；如需移交管理员，请联系应急管理局",
                    "The admin cannot remove itself; ask the bureau to reassign the organisation",
                ),
                code=ErrorCode.ADMIN_CANNOT_LEAVE,
            )
        await detach(uow, gw, [account], reason=f"removed from organisation {uscc} by its admin")


async def listing(
    gw: Any, principal: Principal, *, status: str | None, district: str | None, kind: str | None, params: PageParams
) -> tuple[list[Organisation], str | None]:
    if not (principal.is_admin or principal.is_bureau):
        raise Forbidden(
            text("只有应急管理局和管理员可以查看组织核验队列", "Only bureaus and admins see the verification queue")
        )
    stmt = sa.select(Organisation)
    if not principal.sees_everything:
        if district is not None and district != principal.district:
            raise Forbidden(text("只能查看本辖区的组织", "Only your own district's organisations"))
        stmt = stmt.where(col(Organisation.district) == principal.district)
    elif district is not None:
        stmt = stmt.where(col(Organisation.district) == district)
    if status is not None:
        stmt = stmt.where(col(Organisation.status) == status)
    if kind is not None:
        stmt = stmt.where(col(Organisation.kind) == kind)
    stmt = keyset(
        stmt,
        [Organisation.__table__.c.created_at, Organisation.__table__.c.uscc],
        params,
        convert=[lambda v: datetime.fromisoformat(v), None],
    )
    async with gw.db.reader() as session:
        rows = list((await session.execute(stmt)).scalars().all())
    return page_of(rows, params, lambda o: [as_utc(o.created_at).isoformat(), o.uscc])


# --- API -----------------------------------------------------------------------------------------

router = APIRouter(prefix="/api/v1/organisations", tags=["organisations"], responses=ERRORS)


def _with_etag(response: Response, org: Organisation) -> dict[str, Any]:
    return read(with_etag(response, org))


@router.get("", response_model=OrganisationPage, summary="组织核验队列（应急管理局、管理员） / organisations")
async def list_organisations(
    gw: Gw,
    principal: CurrentPrincipal,
    params: Annotated[PageParams, Depends(page_params)],
    status: Annotated[Literal["pending", "verified", "rejected", "suspended"] | None, Query()] = None,
    district: Annotated[str | None, Query(max_length=12)] = None,
    kind: Annotated[Literal["agency", "enterprise"] | None, Query()] = None,
) -> dict[str, Any]:
    rows, cursor = await listing(gw, principal, status=status, district=district, kind=kind, params=params)
    return {"items": [read(o) for o in rows], "next_cursor": cursor}


@router.get("/{uscc}", response_model=OrganisationRead, summary="组织详情 / an organisation")
async def get_organisation(uscc: USCC_PATH, principal: CurrentPrincipal, response: Response, gw: Gw) -> dict[str, Any]:
    return _with_etag(response, await get(gw, principal, uscc))


@router.post("/{uscc}/verify", response_model=OrganisationRead, summary="核验组织 / verify or reject")
async def verify_organisation(
    uscc: USCC_PATH,
    body: Decision,
    _: CurrentPrincipal,
    uow: UoW,
    if_match: IfMatch,
    response: Response,
    gw: Gw,
) -> dict[str, Any]:
    return _with_etag(response, await decide(gw, uow, uscc, body, if_match))


@router.post("/{uscc}/suspend", response_model=OrganisationRead, summary="暂停组织 / suspend")
async def suspend_organisation(
    uscc: USCC_PATH,
    body: ReasonIn,
    _: CurrentPrincipal,
    uow: UoW,
    if_match: IfMatch,
    response: Response,
    gw: Gw,
) -> dict[str, Any]:
    return _with_etag(response, await suspend(gw, uow, uscc, body.reason, if_match))


@router.post("/{uscc}/reinstate", response_model=OrganisationRead, summary="恢复组织 / reinstate")
async def reinstate_organisation(
    uscc: USCC_PATH, body: ReasonIn, _: CurrentPrincipal, uow: UoW, if_match: IfMatch, response: Response
) -> dict[str, Any]:
    return _with_etag(response, await reinstate(uow, uscc, body.reason, if_match))


@router.post("/{uscc}/reassign", response_model=OrganisationRead, summary="移交组织管理员 / reassign the admin role")
async def reassign_organisation(
    uscc: USCC_PATH,
    body: ReassignIn,
    _: CurrentPrincipal,
    uow: UoW,
    if_match: IfMatch,
    response: Response,
    gw: Gw,
) -> dict[str, Any]:
    return _with_etag(response, await reassign(gw, uow, uscc, body, if_match))


@router.post(
    "/{uscc}/invitations",
    status_code=201,
    response_model=InvitationRead,
    summary="邀请成员（组织管理员） / invite a member",
)
async def create_invitation(uscc: USCC_PATH, body: InvitationIn, _: CurrentPrincipal, uow: UoW) -> dict[str, str]:
    return await invite(uow, uscc)


@router.get("/{uscc}/members", response_model=MembersRead, summary="组织成员 / members")
async def list_members(uscc: USCC_PATH, principal: CurrentPrincipal, gw: Gw) -> dict[str, Any]:
    return {"uscc": uscc, "items": await members(gw, principal, uscc)}


@router.delete("/{uscc}/members/{account_id}", status_code=204, summary="移除成员（组织管理员） / remove a member")
async def delete_member(uscc: USCC_PATH, account_id: uuid.UUID, _: CurrentPrincipal, uow: UoW, gw: Gw) -> Response:
    await remove_member(gw, uow, uscc, account_id)
    return Response(status_code=204)
