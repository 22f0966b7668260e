"""Routes of accounts (SPEC §6, §14, §15): sign-up, admin-created accounts and clients, an account's
own settings (``/api/v1/me``: its e-mail, language and display name, its clients, its password) and
the signing keys. Admin listing, disabling and client deletion are in gateway/admin.py.

Writes run on a unit of work (shared/uow.py) of the gateway's runtime: the ``UoW`` dependency
names the caller (``public_unit_of_work`` names nobody, for the public sign-up), and its commit
marks the request's Idempotency-Key."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field
from sqlmodel import col

from gateway import me as settings_of
from gateway import revocation
from gateway.accounts import (
    AdminAccountCreate,
    AdminClientCreate,
    ClientCreate,
    PasswordChange,
    SignUp,
    create_account,
    create_client,
    find_account,
    sign_up,
)
from gateway.context import Gw
from gateway.models import Account, Client
from gateway.problems import ERRORS
from shared.app import UoW
from shared.auth import AccountPrincipal, AdminPrincipal, Principal
from shared.clock import as_utc
from shared.errors import ErrorCode, FieldError, NotFound, TooManyRequests, ValidationFailed
from shared.http import IfMatch, with_etag
from shared.i18n import text
from shared.idempotency import reservation_of
from shared.uow import UnitOfWork


class AccountRead(BaseModel):
    id: str
    username: str
    role: str
    district: str | None = None
    org_uscc: str | None = None
    org_status: str | None = Field(default=None, description="组织核验状态 / the organisation's status (SPEC §14)")
    display_name: str | None = None


class MeRead(AccountRead):
    client_id: str | None = None
    scopes: list[str]
    email: str | None = Field(default=None, description="接收通知邮件的地址 / where notices are mailed (SPEC §15)")
    language: str | None = Field(default=None, description="通知语言 zh-CN | en（空：zh-CN） / notices' language")
    version: int = Field(description="账号版本，即 ETag / the account's version, its ETag")


class ClientCredentials(BaseModel):
    client_id: str
    client_secret: str = Field(description="只显示这一次 / shown this once only")
    name: str
    scopes: str


class ClientRead(BaseModel):
    client_id: str
    name: str
    scopes: str
    account_id: str | None = None
    grant_types: str
    created_at: str


class ClientList(BaseModel):
    items: list[ClientRead]
    next_cursor: str | None = None


class PasswordChanged(BaseModel):
    status: str = "changed"
    sessions_revoked: bool = Field(True, description="其他会话和令牌已失效，请重新登录 / sign in again")


class KeyInfo(BaseModel):
    kid: str
    origin: str
    signing: bool
    created_at: str
    retired_at: str | None = None
    published_until: str | None = None


class KeysRead(BaseModel):
    signing_kid: str
    new_kid: str | None = None
    signs_from: str | None = None
    keys: list[KeyInfo]


def client_read(row: Client) -> dict[str, Any]:
    return {
        "client_id": row.client_id,
        "name": row.name,
        "scopes": row.scopes,
        "account_id": str(row.account_id) if row.account_id else None,
        "grant_types": row.grant_types,
        "created_at": as_utc(row.created_at).isoformat(),
    }


def account_id_of(subject: str) -> uuid.UUID:
    try:
        return uuid.UUID(subject)
    except ValueError as exc:
        raise NotFound(text("账号不存在", "No such account")) from exc


def public_unit_of_work(request: Request) -> UnitOfWork:
    """The unit of work of a public route: it acts for nobody, whatever Authorization header came
    along (the route never looks at it); its commit marks the Idempotency-Key like ``UoW``'s."""
    reservation = reservation_of(request.scope)
    return request.app.state.runtime.unit_of_work(  # type: ignore[no-any-return]
        Principal.anonymous(),
        request_id=getattr(request.state, "request_id", None),
        before_commit=[reservation.mark_committed] if reservation is not None else (),
    )


router = APIRouter(tags=["accounts"], responses=ERRORS)


async def signup_rate_limit(request: Request) -> None:
    """Sign-ups per client address: checked before the body is validated, the username looked up
    or a password hashed, so a flood costs next to nothing."""
    gw = request.app.state.gw
    wait = gw.signup_limiter.check(gw.address(request))
    if wait:
        raise TooManyRequests(
            wait, text("注册过于频繁，请稍后再试", "Too many sign-ups from this address; try again later")
        )


@router.post(
    "/api/v1/accounts",
    status_code=201,
    response_model=AccountRead,
    summary="公开注册（机构、企业；首个账号登记待核验组织，其余须邀请码） / public sign-up",
)
async def public_sign_up(
    gw: Gw,
    body: SignUp,
    _: None = Depends(signup_rate_limit),
    uow: UnitOfWork = Depends(public_unit_of_work),
) -> dict[str, Any]:
    account = await sign_up(gw, uow, body)
    return account.public()


@router.post(
    "/api/v1/admin/accounts",
    status_code=201,
    response_model=AccountRead,
    summary="创建账号（管理员；机构、企业账号加入或创建已核验组织） / create an account",
)
async def admin_create_account(body: AdminAccountCreate, _: AdminPrincipal, uow: UoW, gw: Gw) -> dict[str, Any]:
    account = await create_account(
        gw,
        uow,
        username=body.username,
        password=body.password,
        role=body.role,
        district=body.district,
        org_uscc=body.org_uscc,
        display_name=body.display_name,
    )
    return account.public()


@router.post(
    "/api/v1/admin/clients",
    status_code=201,
    response_model=ClientCredentials,
    summary="为账号创建客户端（管理员） / a client acting as an account",
)
async def admin_create_client(body: AdminClientCreate, _: AdminPrincipal, uow: UoW, gw: Gw) -> dict[str, Any]:
    account = await find_account(gw.db, body.username)
    if account is None:
        raise NotFound(
            text("账号不存在", "No such account"), errors=[FieldError("username", text("不存在", "unknown"))]
        )
    return await create_client(uow, account_id=account.id, name=body.name, scopes=body.scope_string)


@router.post(
    "/api/v1/me/clients",
    status_code=201,
    response_model=ClientCredentials,
    summary="为本人账号创建客户端 / a client for my own integrations",
)
async def my_create_client(body: ClientCreate, principal: AccountPrincipal, uow: UoW, gw: Gw) -> dict[str, Any]:
    account_id = account_id_of(principal.subject)
    if await gw.store.account(account_id) is None:
        raise NotFound(text("账号不存在或已停用", "The account does not exist or is disabled"))
    return await create_client(uow, account_id=account_id, name=body.name, scopes=body.scope_string)


@router.get("/api/v1/me/clients", response_model=ClientList, summary="本人账号的客户端 / my clients")
async def my_clients(principal: AccountPrincipal, gw: Gw) -> dict[str, Any]:
    account_id = account_id_of(principal.subject)
    async with gw.db.reader() as session:
        rows = (
            (
                await session.execute(
                    sa.select(Client)
                    .where(col(Client.account_id) == account_id)
                    .order_by(col(Client.created_at), col(Client.client_id))
                )
            )
            .scalars()
            .all()
        )
    return {"items": [client_read(r) for r in rows], "next_cursor": None}


@router.delete("/api/v1/me/clients/{client_id}", status_code=204, summary="删除本人账号的客户端 / delete my client")
async def delete_my_client(client_id: str, principal: AccountPrincipal, uow: UoW, gw: Gw) -> Response:
    from gateway.admin import delete_client

    await delete_client(gw, uow, client_id, owner=account_id_of(principal.subject))
    return Response(status_code=204)


@router.post("/api/v1/me/password", response_model=PasswordChanged, summary="修改密码 / change my password")
async def change_password(
    body: PasswordChange, principal: AccountPrincipal, request: Request, uow: UoW, gw: Gw
) -> dict[str, Any]:
    """The current password is checked like a login (failures count against this account and
    address). A changed password ends every session of the account: its refresh tokens and live
    access tokens are revoked at the gateway and at every service."""
    account_id = account_id_of(principal.subject)
    address = gw.address(request)
    wait = gw.auth_limiter.check(address=address, account=principal.username or principal.subject)
    if wait:
        raise TooManyRequests(wait)
    async with gw.db.reader() as session:
        row = await session.get(Account, account_id)
    if row is None or row.disabled:
        raise NotFound(text("账号不存在或已停用", "The account does not exist or is disabled"))
    if row.password_hash is None:
        raise ValidationFailed(
            text(
                "该账号没有密码（以客户端密钥登录）", "This account has no password (it signs in with a client secret)"
            ),
            code=ErrorCode.NO_PASSWORD,
        )
    if not await gw.passwords.verify(row.password_hash, body.current_password):
        gw.auth_limiter.failed(principal.username or principal.subject, address)
        # 422, not 401: the bearer token is fine, the form is not
        raise ValidationFailed(
            text("当前密码错误", "The current password is wrong"),
            code=ErrorCode.CURRENT_PASSWORD_WRONG,
            errors=[FieldError("current_password", text("不正确", "wrong"))],
        )
    hashed = await gw.passwords.hash(body.new_password)
    async with uow:
        row = await uow.session.get(Account, account_id, with_for_update=True)
        if row is None:  # deleted meanwhile
            raise NotFound(text("账号不存在或已停用", "The account does not exist or is disabled"))
        row.password_hash, row.password_changed_at = hashed, uow.now
        await revocation.cut_off(uow, gw.revocations, subjects=[str(account_id)], reason="password changed")
    return {"status": "changed", "sessions_revoked": True}


def _me(account: Any, principal: Principal) -> dict[str, Any]:
    return {**account.settings(), "client_id": principal.client_id, "scopes": sorted(principal.scopes)}


@router.get("/api/v1/me", response_model=MeRead, summary="当前账号 / the current account")
async def me(principal: AccountPrincipal, response: Response, gw: Gw) -> dict[str, Any]:
    account = await gw.store.account(account_id_of(principal.subject))
    if account is None:
        raise NotFound(text("账号不存在或已停用", "The account does not exist or is disabled"))
    return _me(with_etag(response, account), principal)


@router.patch(
    "/api/v1/me",
    response_model=MeRead,
    summary="修改本人账号的邮箱、通知语言、显示名称 / set my e-mail, language, display name",
)
async def update_me(
    body: settings_of.MeUpdate, principal: AccountPrincipal, uow: UoW, if_match: IfMatch, response: Response
) -> dict[str, Any]:
    """Only the members given change (``null`` clears ``email`` or ``language``); ``If-Match`` with
    the ETag of ``GET /api/v1/me`` (412 when the account changed meanwhile). Notify hears of it
    (``account.updated``): urgent items are mailed to ``email`` at once, the rest in a daily digest,
    in ``language``."""
    account = await settings_of.update_me(
        uow, account_id=account_id_of(principal.subject), changes=body, if_match=if_match
    )
    return _me(with_etag(response, account), principal)


@router.post(
    "/api/v1/admin/keys/rotate",
    tags=["keys"],
    response_model=KeysRead,
    summary="轮换签名密钥（管理员） / rotate the signing key",
)
async def rotate_keys(_: AdminPrincipal, gw: Gw) -> dict[str, Any]:
    rotated = await gw.keys.rotate()
    return {"new_kid": rotated["kid"], "signs_from": rotated["signs_from"], **gw.keys.summary()}


@router.get("/api/v1/admin/keys", tags=["keys"], response_model=KeysRead, summary="签名密钥（管理员） / signing keys")
async def list_keys(_: AdminPrincipal, gw: Gw) -> dict[str, Any]:
    return gw.keys.summary()


@router.post(
    "/api/v1/admin/keys/{kid}/revoke",
    tags=["keys"],
    response_model=KeysRead,
    summary="撤销已退役的签名密钥（管理员） / revoke a retired signing key",
)
async def revoke_key(kid: str, _: AdminPrincipal, gw: Gw) -> dict[str, Any]:
    await gw.keys.revoke(kid)
    return gw.keys.summary()
