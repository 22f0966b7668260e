"""Accounts and the clients that act as them: public sign-up, admin-created accounts, admin- and
self-service ``client_credentials`` clients, ``GET /api/v1/me``, and the start-up bootstrap
(``custody-cli`` and the admin client from ``CUSTODY_ADMIN_CLIENT_ID/SECRET``).

Passwords are Argon2 hashes (hashed and checked in a worker thread); client secrets are random
256-bit strings stored as SHA-256 and compared in constant time.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Annotated, Any, Literal

import anyio.to_thread
import sqlalchemy as sa
import structlog
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import APIRouter, Depends, Request
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy.exc import IntegrityError

from shared.auth import AdminPrincipal, CurrentPrincipal
from shared.clock import Clock
from shared.db import Database
from shared.errors import ErrorCode, Conflict, FieldError, NotFound, ValidationFailed
from shared.i18n import text
from shared.ids import new_id
from shared.reference import is_valid_uscc, load_jurisdiction
from shared.validation import no_control
from shared.settings import DEV_ADMIN_CLIENT_SECRET, Settings

from gateway.models import Account, Client
from gateway.oauth.grants import (
    CLI_CLIENT_ID,
    CLI_REDIRECT_URIS,
    DEFAULT_SCOPES,
    SCOPES,
    AccountInfo,
    digest,
    new_secret,
)
from gateway.oauth.keys import StartupRefused

log = structlog.get_logger("gateway.accounts")

USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.@-]{2,63}$"
MIN_PRODUCTION_SECRET = 16


def password_hasher(settings: Settings) -> PasswordHasher:
    if settings.env == "test":
        return PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)  # fast tests, same code path
    return PasswordHasher()


class Passwords:
    def __init__(self, settings: Settings) -> None:
        self.hasher = password_hasher(settings)
        self._dummy = self.hasher.hash(secrets.token_urlsafe(16))

    async def hash(self, password: str) -> str:
        return await anyio.to_thread.run_sync(self.hasher.hash, password)

    async def verify(self, stored: str | None, password: str) -> bool:
        def check() -> bool:
            try:
                return self.hasher.verify(stored or self._dummy, password) and stored is not None
            except (VerificationError, InvalidHashError):
                return False

        return await anyio.to_thread.run_sync(check)


# --- schemas ---------------------------------------------------------------------------------
def _named(value: str) -> str:
    no_control(value)
    if not value.strip():
        raise ValueError("不能为空白 / must not be blank")
    return value.strip()


Username = Annotated[str, Field(pattern=USERNAME_PATTERN, description="3–64 个字母、数字或 _.@-")]
Password = Annotated[str, Field(min_length=8, max_length=200), AfterValidator(no_control)]
Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_named)]


def _check_uscc(value: str | None) -> str | None:
    if value is not None and not is_valid_uscc(value):
        raise ValueError("统一社会信用代码无效（GB 32100-2015 校验失败） / invalid USCC (GB 32100-2015 check failed)")
    return value


def _check_scopes(value: str | list[str] | None) -> str | None:
    if value is None:
        return None
    items = value.split() if isinstance(value, str) else list(value)
    if not items or any(not isinstance(s, str) or s not in SCOPES for s in items):
        raise ValueError(f"scopes 须为 {' / '.join(SCOPES)} 的组合 / scopes must be drawn from {', '.join(SCOPES)}")
    return " ".join(s for s in SCOPES if s in items)


class SignUp(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Username
    password: Password
    role: Literal["agency", "enterprise"]
    org_uscc: str
    display_name: Name

    _uscc = field_validator("org_uscc")(_check_uscc)


class AdminAccountCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Username
    password: Password
    role: Literal["admin", "bureau", "agency", "enterprise"]
    district: str | None = Field(default=None, max_length=12)
    org_uscc: str | None = None
    display_name: Name | None = None

    _uscc = field_validator("org_uscc")(_check_uscc)

    @model_validator(mode="after")
    def _by_role(self) -> "AdminAccountCreate":
        errors = []
        if self.role == "bureau":
            jur = load_jurisdiction()
            if not self.district:
                errors.append(FieldError("district", text("区局账号须指定辖区代码", "A bureau account needs a district")))
            elif not (jur.is_city(self.district) or jur.is_district(self.district)):
                errors.append(FieldError("district", text("未知的辖区代码", "Unknown district code")))
        elif self.district is not None:
            errors.append(FieldError("district", text("仅区局账号有辖区", "Only bureau accounts have a district")))
        if self.role in ("agency", "enterprise") and not self.org_uscc:
            errors.append(FieldError("org_uscc", text("机构或企业账号须提供统一社会信用代码", "Agency and enterprise accounts need an org_uscc")))
        if self.role in ("admin", "bureau") and self.org_uscc:
            errors.append(FieldError("org_uscc", text("管理员和区局账号不绑定组织", "Admin and bureau accounts have no org_uscc")))
        if errors:
            raise ValidationFailed(text("账号数据未通过校验", "The account did not pass validation"), errors=errors)
        return self


class ClientCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    scopes: str | list[str] | None = None

    _scopes = field_validator("scopes")(_check_scopes)


class AdminClientCreate(ClientCreate):
    username: Annotated[str, Field(min_length=1, max_length=64), AfterValidator(no_control)]


# --- service functions -----------------------------------------------------------------------
async def create_account(db: Database, clock: Clock, passwords: Passwords, *, username: str, password: str | None,
                         role: str, district: str | None = None, org_uscc: str | None = None,
                         display_name: str | None = None) -> AccountInfo:
    hashed = await passwords.hash(password) if password else None
    row = Account(id=new_id(), username=username, password_hash=hashed, role=role, district=district,
                  org_uscc=org_uscc, display_name=display_name, created_at=clock.now())
    try:
        async with db.transaction() as session:
            taken = await session.scalar(sa.select(Account.id).where(sa.func.lower(Account.username) == username.lower()))
            if taken is not None:
                raise _username_taken()
            session.add(row)
    except IntegrityError as exc:
        raise _username_taken() from exc
    log.info("gateway.account.created", username=username, role=role)
    return AccountInfo.of(row)


def _username_taken() -> Conflict:
    return Conflict(text("用户名已被占用", "The username is taken"), code=ErrorCode.USERNAME_TAKEN,
                    errors=[FieldError("username", text("已被占用", "taken"))])


async def find_account(db: Database, username: str) -> Account | None:
    async with db.reader() as session:
        return await session.scalar(sa.select(Account).where(sa.func.lower(Account.username) == username.lower()))


async def create_client(db: Database, clock: Clock, *, account_id: uuid.UUID, name: str,
                        scopes: str | None) -> dict[str, str]:
    client_id = f"cl-{secrets.token_hex(12)}"
    secret = new_secret()
    async with db.transaction() as session:
        session.add(Client(client_id=client_id, name=name, secret_hash=digest(secret), account_id=account_id,
                           grant_types="client_credentials", redirect_uris="", scopes=scopes or DEFAULT_SCOPES,
                           created_at=clock.now()))
    log.info("gateway.client.created", client_id=client_id, account_id=str(account_id))
    return {"client_id": client_id, "client_secret": secret, "name": name, "scopes": scopes or DEFAULT_SCOPES}


def check_production(settings: Settings) -> None:
    if not settings.is_production:
        return
    if not settings.admin_client_id or not settings.admin_client_secret:
        return  # no bootstrap client: nothing default to refuse
    secret = settings.admin_client_secret
    if secret == DEV_ADMIN_CLIENT_SECRET or len(secret) < MIN_PRODUCTION_SECRET:
        raise StartupRefused("CUSTODY_ADMIN_CLIENT_SECRET is the development default or shorter than "
                             f"{MIN_PRODUCTION_SECRET} characters; refusing to start in production")


async def bootstrap(db: Database, clock: Clock, settings: Settings) -> None:
    """``custody-cli`` always; the admin client when CUSTODY_ADMIN_CLIENT_ID/SECRET are set."""
    now = clock.now()
    async with db.transaction() as session:
        cli = await session.get(Client, CLI_CLIENT_ID)
        if cli is None:
            session.add(Client(client_id=CLI_CLIENT_ID, name="custody-cli", secret_hash=None, account_id=None,
                               grant_types="authorization_code refresh_token", redirect_uris=" ".join(CLI_REDIRECT_URIS),
                               scopes=DEFAULT_SCOPES, created_at=now))
    if not (settings.admin_client_id and settings.admin_client_secret):
        return
    client_id = settings.admin_client_id
    async with db.transaction() as session:
        account = await session.scalar(sa.select(Account).where(Account.username == client_id))
        if account is None:
            account = Account(id=new_id(), username=client_id, password_hash=None, role="admin",
                              display_name="bootstrap admin", created_at=now)
            session.add(account)
            await session.flush()
        elif account.role != "admin":
            raise StartupRefused(f"an account named {client_id!r} exists and is not an admin")
        client = await session.get(Client, client_id)
        hashed = digest(settings.admin_client_secret)
        if client is None:
            session.add(Client(client_id=client_id, name="bootstrap admin client", secret_hash=hashed,
                               account_id=account.id, grant_types="client_credentials", redirect_uris="",
                               scopes=DEFAULT_SCOPES, created_at=now))
        else:
            client.secret_hash = hashed
            client.account_id = account.id
            client.grant_types = "client_credentials"
            client.scopes = DEFAULT_SCOPES


# --- API -------------------------------------------------------------------------------------
class AccountRead(BaseModel):
    id: str
    username: str
    role: str
    district: str | None = None
    org_uscc: str | None = None
    display_name: str | None = None


class MeRead(AccountRead):
    client_id: str | None = None
    scopes: list[str]


class ClientCredentials(BaseModel):
    client_id: str
    client_secret: str = Field(description="只显示这一次 / shown this once only")
    name: str
    scopes: str


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


PROBLEM = {"application/problem+json": {"schema": {
    "type": "object", "required": ["type", "title", "status"],
    "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                   "detail": {"type": "string"}, "code": {"type": "string"},
                   "errors": {"type": "array", "items": {"type": "object", "properties": {
                       "field": {"type": "string"}, "message": {"type": "string"}}}}}}}}
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"description": description, "content": PROBLEM} for status, description in (
        (400, "请求无效 / bad request"), (401, "未认证 / not authenticated"), (403, "无权操作 / forbidden"),
        (404, "账号不存在 / no such account"), (409, "用户名已被占用 / username taken"),
        (413, "请求体过大 / body too large"), (415, "须为 JSON / JSON only"), (422, "校验失败 / validation failed"))}


def _gw(request: Request):  # noqa: ANN202
    return request.app.state.gw


router = APIRouter(tags=["accounts"], responses=ERRORS)


@router.post("/api/v1/accounts", status_code=201, response_model=AccountRead, summary="公开注册（机构、企业） / public sign-up")
async def sign_up(body: SignUp, gw=Depends(_gw)) -> dict[str, Any]:  # noqa: ANN001
    account = await create_account(gw.db, gw.clock, gw.passwords, username=body.username, password=body.password,
                                   role=body.role, org_uscc=body.org_uscc, display_name=body.display_name)
    return account.public()


@router.post("/api/v1/admin/accounts", status_code=201, response_model=AccountRead, summary="创建账号（管理员） / create an account")
async def admin_create_account(body: AdminAccountCreate, _: AdminPrincipal, gw=Depends(_gw)) -> dict[str, Any]:  # noqa: ANN001
    account = await create_account(gw.db, gw.clock, gw.passwords, username=body.username, password=body.password,
                                   role=body.role, district=body.district, org_uscc=body.org_uscc,
                                   display_name=body.display_name)
    return account.public()


@router.post("/api/v1/admin/clients", status_code=201, response_model=ClientCredentials, summary="为账号创建客户端（管理员） / a client acting as an account")
async def admin_create_client(body: AdminClientCreate, _: AdminPrincipal, gw=Depends(_gw)) -> dict[str, Any]:  # noqa: ANN001
    account = await find_account(gw.db, body.username)
    if account is None:
        raise NotFound(text("账号不存在", "No such account"), errors=[FieldError("username", text("不存在", "unknown"))])
    return await create_client(gw.db, gw.clock, account_id=account.id, name=body.name, scopes=body.scopes)


@router.post("/api/v1/me/clients", status_code=201, response_model=ClientCredentials, summary="为本人账号创建客户端 / a client for my own integrations")
async def my_create_client(body: ClientCreate, principal: CurrentPrincipal, gw=Depends(_gw)) -> dict[str, Any]:  # noqa: ANN001
    account_id = _account_id(principal.subject)
    if await gw.store.account(account_id) is None:
        raise NotFound(text("账号不存在或已停用", "The account does not exist or is disabled"))
    return await create_client(gw.db, gw.clock, account_id=account_id, name=body.name, scopes=body.scopes)


@router.get("/api/v1/me", response_model=MeRead, summary="当前账号 / the current account")
async def me(principal: CurrentPrincipal, gw=Depends(_gw)) -> dict[str, Any]:  # noqa: ANN001
    account = await gw.store.account(_account_id(principal.subject))
    if account is None:
        raise NotFound(text("账号不存在或已停用", "The account does not exist or is disabled"))
    return {**account.public(), "client_id": principal.client_id, "scopes": sorted(principal.scopes)}


@router.post("/api/v1/admin/keys/rotate", tags=["keys"], response_model=KeysRead, summary="轮换签名密钥（管理员） / rotate the signing key")
async def rotate_keys(_: AdminPrincipal, gw=Depends(_gw)) -> dict[str, Any]:  # noqa: ANN001
    rotated = await gw.keys.rotate()
    return {"new_kid": rotated["kid"], "signs_from": rotated["signs_from"], "signing_kid": gw.keys.active.kid,
            "keys": gw.keys.describe()}


@router.get("/api/v1/admin/keys", tags=["keys"], response_model=KeysRead, summary="签名密钥（管理员） / signing keys")
async def list_keys(_: AdminPrincipal, gw=Depends(_gw)) -> dict[str, Any]:  # noqa: ANN001
    return {"signing_kid": gw.keys.active.kid, "keys": gw.keys.describe()}


def _account_id(subject: str) -> uuid.UUID:
    try:
        return uuid.UUID(subject)
    except ValueError as exc:
        raise NotFound(text("账号不存在", "No such account")) from exc

