"""Account administration (SPEC §14): the admin lists accounts and clients, disables and enables
accounts, deletes clients. Disabling an account or deleting a client revokes its live tokens at
the gateway and at every service (gateway/revocation.py: a cut-off on the bus); disabling and
enabling are announced (``account.disabled`` / ``account.enabled``: notify stops and resumes
telling the person). Writes run on the request's unit of work (``UoW``)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

import sqlalchemy as sa
import structlog
from fastapi import APIRouter, Depends, Query, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlmodel import col

from gateway import events, revocation
from gateway.account_routes import ClientList, client_read
from gateway.context import Gw
from gateway.models import Account, Client, Organisation, username_key
from gateway.oauth.grants import CLI_CLIENT_ID
from gateway.problems import ERRORS
from shared.app import UoW
from shared.auth import AdminPrincipal
from shared.clock import as_utc
from shared.errors import Conflict, ErrorCode, NotFound
from shared.i18n import text
from shared.pagination import PageParams, keyset, page_of, page_params
from shared.uow import UnitOfWork
from shared.validation import no_control

log = structlog.get_logger("gateway.admin")


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(min_length=1, max_length=500), AfterValidator(no_control)]


class AdminAccountRead(BaseModel):
    id: str
    username: str
    role: str
    district: str | None = None
    org_uscc: str | None = None
    org_status: str | None = None
    display_name: str | None = None
    disabled: bool
    disabled_reason: str | None = None
    created_at: str


class AdminAccountPage(BaseModel):
    items: list[AdminAccountRead]
    next_cursor: str | None = None


def _read(row: Account, org_status: str | None) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "username": row.username,
        "role": row.role,
        "district": row.district,
        "org_uscc": row.org_uscc,
        "org_status": org_status,
        "display_name": row.display_name,
        "disabled": row.disabled,
        "disabled_reason": row.disabled_reason,
        "created_at": as_utc(row.created_at).isoformat(),
    }


def _protected_clients(gw: Any) -> set[str]:
    from gateway.portal_client import PORTAL_CLIENT_ID

    return {CLI_CLIENT_ID, PORTAL_CLIENT_ID, *([gw.settings.admin_client_id] if gw.settings.admin_client_id else [])}


async def delete_client(gw: Any, uow: UnitOfWork, client_id: str, *, owner: uuid.UUID | None) -> None:
    """Delete a client (``owner``: only if it acts as that account) and cut off its live tokens."""
    if not isinstance(client_id, str) or len(client_id) > 80:
        raise NotFound(text("客户端不存在", "No such client"))
    async with uow:
        session = uow.session
        row = await session.get(Client, client_id, with_for_update=True)
        if row is None or (owner is not None and row.account_id != owner):
            raise NotFound(text("客户端不存在", "No such client"))
        if client_id in _protected_clients(gw):
            raise Conflict(
                text("内置客户端不能删除", "A built-in client cannot be deleted"), code=ErrorCode.CLIENT_PROTECTED
            )
        await revocation.cut_off(uow, gw.revocations, clients=[client_id], reason="client deleted")
        await session.delete(row)
    log.info("gateway.client.deleted", client_id=client_id, by=uow.principal.actor)


router = APIRouter(prefix="/api/v1/admin", tags=["admin"], responses=ERRORS)


@router.get("/accounts", response_model=AdminAccountPage, summary="账号列表（管理员） / accounts")
async def list_accounts(
    gw: Gw,
    _: AdminPrincipal,
    params: Annotated[PageParams, Depends(page_params)],
    role: Annotated[Literal["admin", "bureau", "agency", "enterprise"] | None, Query()] = None,
    q: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    stmt = sa.select(Account, col(Organisation.status)).outerjoin(
        Organisation, col(Organisation.uscc) == col(Account.org_uscc)
    )
    if role is not None:
        stmt = stmt.where(col(Account.role) == role)
    if q:
        needle = q.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(
            sa.or_(
                col(Account.username_key).like(f"%{needle}%", escape="\\"),
                sa.func.lower(Account.display_name).like(f"%{needle}%", escape="\\"),
                col(Account.org_uscc) == q.strip().upper(),
            )
        )
    stmt = keyset(stmt, [Account.__table__.c.id], params, convert=[uuid.UUID])
    async with gw.db.reader() as session:
        rows = (await session.execute(stmt)).all()
    items, cursor = page_of(rows, params, lambda r: [str(r[0].id)])
    return {"items": [_read(account, status) for account, status in items], "next_cursor": cursor}


async def _set_disabled(
    gw: Any, uow: UnitOfWork, account_id: uuid.UUID, *, disabled: bool, reason: str
) -> dict[str, Any]:
    principal = uow.principal
    async with uow:
        session = uow.session
        row = await session.get(Account, account_id, with_for_update=True)
        if row is None:
            raise NotFound(text("账号不存在", "No such account"))
        if disabled and (
            str(row.id) == principal.subject
            or (gw.settings.admin_client_id and row.username_key == username_key(gw.settings.admin_client_id))
        ):
            raise Conflict(
                text(
                    "不能停用自己的账号或启动时配置的管理员账号",
                    "You cannot disable your own account or the bootstrap admin",
                ),
                code=ErrorCode.ACCOUNT_PROTECTED,
            )
        now = uow.now
        row.disabled = disabled
        row.disabled_reason = reason if disabled else None
        row.disabled_at = now if disabled else None
        row.version += 1
        await session.flush()
        if disabled:
            await revocation.cut_off(uow, gw.revocations, subjects=[str(row.id)], reason="account disabled")
            await events.account_disabled(uow, row)
        else:
            await events.account_enabled(uow, row)
        status = (
            await session.scalar(sa.select(col(Organisation.status)).where(col(Organisation.uscc) == row.org_uscc))
            if row.org_uscc
            else None
        )
    log.warning(
        "gateway.account.disabled" if disabled else "gateway.account.enabled",
        account_id=str(account_id),
        by=principal.actor,
        reason=reason,
    )
    return _read(row, status)


@router.post("/accounts/{account_id}/disable", response_model=AdminAccountRead, summary="停用账号（管理员） / disable")
async def disable_account(account_id: uuid.UUID, body: ReasonIn, _: AdminPrincipal, uow: UoW, gw: Gw) -> dict[str, Any]:
    return await _set_disabled(gw, uow, account_id, disabled=True, reason=body.reason)


@router.post("/accounts/{account_id}/enable", response_model=AdminAccountRead, summary="启用账号（管理员） / enable")
async def enable_account(account_id: uuid.UUID, body: ReasonIn, _: AdminPrincipal, uow: UoW, gw: Gw) -> dict[str, Any]:
    return await _set_disabled(gw, uow, account_id, disabled=False, reason=body.reason)


@router.get("/clients", response_model=ClientList, summary="客户端列表（管理员） / clients")
async def list_clients(
    gw: Gw,
    _: AdminPrincipal,
    params: Annotated[PageParams, Depends(page_params)],
    account_id: Annotated[uuid.UUID | None, Query()] = None,
) -> dict[str, Any]:
    stmt = sa.select(Client)
    if account_id is not None:
        stmt = stmt.where(col(Client.account_id) == account_id)
    stmt = keyset(stmt, [Client.__table__.c.client_id], params)
    async with gw.db.reader() as session:
        rows = list((await session.execute(stmt)).scalars().all())
    items, cursor = page_of(rows, params, lambda r: [r.client_id])
    return {"items": [client_read(r) for r in items], "next_cursor": cursor}


@router.delete("/clients/{client_id}", status_code=204, summary="删除客户端（管理员） / delete a client")
async def admin_delete_client(client_id: str, _: AdminPrincipal, uow: UoW, gw: Gw) -> Response:
    await delete_client(gw, uow, client_id, owner=None)
    return Response(status_code=204)
