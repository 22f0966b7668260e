"""Accounts and the clients that act as them (SPEC §6, §14): public sign-up, admin-created
accounts, admin- and self-service ``client_credentials`` clients, the start-up bootstrap
(``custody-cli`` and the admin client from ``CUSTODY_ADMIN_CLIENT_ID/SECRET``). The routes are in
gateway/account_routes.py and gateway/admin.py.

- Sign-up binds an account to an organisation only as §14 says (gateway/organisations.py): the
  first account of a USCC opens a ``pending`` organisation; a later one needs an invitation. It is
  rate limited per address, and the username and the organisation are checked *before* the
  password is hashed, so refused sign-ups cost no Argon2.
- Argon2 runs with bounded concurrency: new hashes (sign-ups, password changes, admin-made
  accounts) on ``CUSTODY_PASSWORD_HASH_CONCURRENCY`` dedicated threads at a lower CPU priority
  (Linux nice is per thread, and libargon2's own threads inherit it), at most ``MAX_WAITING`` per
  thread queued (then 503 ``busy``); login checks on as many ordinary threads. A sign-up flood
  queues behind itself and yields the CPU, so logins and token refreshes keep their latency
  (bench/signup_flood.py, docs/BENCHMARKS.md).
- Usernames are unique case-insensitively by a unique index on their lower-case key; the bootstrap
  admin's and the built-in clients' names are reserved.
- Client secrets are random 256-bit strings stored as SHA-256 and compared in constant time.
- Every account is announced on the bus (``account.*``, gateway/events.py) in the transaction that
  makes or changes it — notify addresses people by these alone. Accounts from before the
  announcements (``version`` 0) are announced once when the gateway starts (``announce_existing``).
"""

from __future__ import annotations

import secrets
import uuid
from typing import Annotated, Any, Literal

import anyio
import anyio.to_thread
import sqlalchemy as sa
import structlog
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from gateway import events, organisations
from gateway.models import Account, Client, Organisation, username_key
from gateway.oauth.grants import (
    CLI_CLIENT_ID,
    CLI_REDIRECT_URIS,
    DEFAULT_SCOPES,
    SCOPES,
    AccountInfo,
    digest,
    new_secret,
)
from gateway.oauth.keys import StartupRefused, check_key_encryption
from shared.db import Database
from shared.errors import Conflict, ErrorCode, FieldError, ServiceUnavailable, ValidationFailed
from shared.i18n import text
from shared.ids import new_id
from shared.reference import is_valid_uscc, load_jurisdiction
from shared.settings import DEV_ADMIN_CLIENT_ID, DEV_ADMIN_CLIENT_SECRET, Settings
from shared.uow import UnitOfWork
from shared.validation import no_control

log = structlog.get_logger("gateway.accounts")

USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.@-]{2,63}$"
MIN_PRODUCTION_SECRET = 16
MAX_WAITING = 32  # password hashes queued per hashing thread; beyond that, 503 busy (the flood waits outside)
HASH_NICE = 10  # the hashing threads' CPU priority (0 normal, 19 lowest): they yield to the event loop
RESERVED_USERNAMES = frozenset(
    {"admin", "administrator", "root", "system", "custody", "custody-cli", "custody-portal", DEV_ADMIN_CLIENT_ID}
)


def password_hasher(settings: Settings) -> PasswordHasher:
    if settings.env == "test":
        return PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)  # fast tests, same code path
    return PasswordHasher()


class PasswordsBusy(ServiceUnavailable):
    code = ErrorCode.BUSY

    def __init__(self) -> None:
        super().__init__(
            text("注册请求过多，请稍后再试", "Too many sign-ups right now; try again shortly"),
            headers={"Retry-After": "5"},
        )


def _yield_the_cpu() -> None:
    """Initializer of the hashing threads: a lower priority (for this thread only, and the threads
    libargon2 starts from it), so the event loop's thread is served first. Not the lowest: on a
    busy host a nice-19 thread can starve, and a sign-up should finish, only later."""
    import contextlib
    import os
    import threading

    # not Linux, or not allowed: bounded concurrency still holds
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASH_NICE)


class Passwords:
    """Argon2 off the event loop: at most ``concurrency`` new hashes (on low-priority threads of
    their own) and ``concurrency`` login checks at once."""

    def __init__(self, settings: Settings) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.hasher = password_hasher(settings)
        self._dummy = self.hasher.hash(secrets.token_urlsafe(16))
        self.hashing = ThreadPoolExecutor(
            max_workers=settings.password_hash_concurrency, thread_name_prefix="argon2-hash", initializer=_yield_the_cpu
        )
        self.checking = anyio.CapacityLimiter(settings.password_hash_concurrency)
        self.waiting = 0
        self.max_waiting = MAX_WAITING * settings.password_hash_concurrency

    async def hash(self, password: str) -> str:
        import asyncio

        if self.waiting >= self.max_waiting:
            raise PasswordsBusy()
        self.waiting += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self.hashing, self.hasher.hash, password)
        finally:
            self.waiting -= 1

    def close(self) -> None:
        self.hashing.shutdown(wait=False, cancel_futures=True)

    async def verify(self, stored: str | None, password: str) -> bool:
        def check() -> bool:
            try:
                return self.hasher.verify(stored or self._dummy, password) and stored is not None
            except (VerificationError, InvalidHashError):
                return False

        return await anyio.to_thread.run_sync(check, limiter=self.checking)


# --- schemas ---------------------------------------------------------------------------------
def _named(value: str) -> str:
    no_control(value)
    if not value.strip():
        raise ValueError("不能为空白 / must not be blank")
    return value.strip()


Username = Annotated[str, Field(pattern=USERNAME_PATTERN, description="3–64 个字母、数字或 _.@-（不区分大小写）")]
Password = Annotated[str, Field(min_length=8, max_length=200), AfterValidator(no_control)]
Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_named)]
InvitationCode = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(no_control)]


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
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "username": "anxin.agency",
                    "password": "correct-horse-battery",
                    "role": "agency",
                    "org_uscc": "91440703MA4W1234XP",
                    "display_name": "安信安全",
                }
            ]
        },
    )

    username: Username
    password: Password
    role: Literal["agency", "enterprise"]
    org_uscc: str
    display_name: Name
    invitation: InvitationCode | None = Field(
        default=None, description="加入已登记组织的邀请码 / to join a registered organisation"
    )

    _uscc = field_validator("org_uscc")(_check_uscc)


class AdminAccountCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "username": "pengjiang.bureau",
                    "password": "correct-horse-battery",
                    "role": "bureau",
                    "district": "440703",
                    "display_name": "蓬江区应急管理局",
                }
            ]
        },
    )

    username: Username
    password: Password
    role: Literal["admin", "bureau", "agency", "enterprise"]
    district: str | None = Field(default=None, max_length=12)
    org_uscc: str | None = None
    display_name: Name | None = None

    _uscc = field_validator("org_uscc")(_check_uscc)

    @model_validator(mode="after")
    def _by_role(self) -> AdminAccountCreate:
        errors = []
        if self.role == "bureau":
            jur = load_jurisdiction()
            if not self.district:
                errors.append(
                    FieldError("district", text("区局账号须指定辖区代码", "A bureau account needs a district"))
                )
            elif not (jur.is_city(self.district) or jur.is_district(self.district) or jur.is_town(self.district)):
                # a town code makes a town bureau (镇街安监办, SPEC §22): it sees and acts on its town only
                errors.append(FieldError("district", text("未知的辖区代码", "Unknown district code")))
        elif self.district is not None:
            errors.append(FieldError("district", text("仅区局账号有辖区", "Only bureau accounts have a district")))
        if self.role in ("agency", "enterprise") and not self.org_uscc:
            errors.append(
                FieldError(
                    "org_uscc",
                    text("机构或企业账号须提供统一社会信用代码", "Agency and enterprise accounts need an org_uscc"),
                )
            )
        if self.role in ("admin", "bureau") and self.org_uscc:
            errors.append(
                FieldError("org_uscc", text("管理员和区局账号不绑定组织", "Admin and bureau accounts have no org_uscc"))
            )
        if errors:
            raise ValidationFailed(text("账号数据未通过校验", "The account did not pass validation"), errors=errors)
        return self


class ClientCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    scopes: str | list[str] | None = None  # a list or a space-separated string; validated to the string

    _scopes = field_validator("scopes")(_check_scopes)

    @property
    def scope_string(self) -> str | None:
        return self.scopes if not isinstance(self.scopes, list) else " ".join(self.scopes)


class AdminClientCreate(ClientCreate):
    username: Annotated[str, Field(min_length=1, max_length=64), AfterValidator(no_control)]


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: Annotated[str, Field(min_length=1, max_length=200)]
    new_password: Password


# --- service functions -----------------------------------------------------------------------
def _username_taken() -> Conflict:
    return Conflict(
        text("用户名已被占用", "The username is taken"),
        code=ErrorCode.USERNAME_TAKEN,
        errors=[FieldError("username", text("已被占用", "taken"))],
    )


def reserved(settings: Settings, username: str) -> bool:
    key = username_key(username)
    return key in RESERVED_USERNAMES or (
        settings.admin_client_id is not None and key == username_key(settings.admin_client_id)
    )


async def username_free(db: Database, username: str) -> bool:
    async with db.reader() as session:
        return (
            await session.scalar(sa.select(col(Account.id)).where(col(Account.username_key) == username_key(username)))
            is None
        )


async def sign_up(gw: Any, uow: UnitOfWork, body: SignUp) -> AccountInfo:
    """SPEC §14 sign-up. Cheap refusals first (reserved or taken username, an organisation that
    exists without a usable invitation); the Argon2 hash only then; the unique indexes and the
    invitation's single-use UPDATE decide races. The account is announced (``account.registered``)
    with its organisation's events in the same transaction."""
    if reserved(gw.settings, body.username) or not await username_free(gw.db, body.username):
        raise _username_taken()
    now = gw.clock.now()
    async with gw.db.reader() as session:
        org = await session.get(Organisation, body.org_uscc)
        if org is not None:
            if body.invitation is None:
                raise organisations.organisation_exists()
            if not await organisations.invitation_usable(session, body.invitation, org.uscc, now):
                raise organisations.invitation_invalid()
            _same_kind(org, body.role)
    hashed = await gw.passwords.hash(body.password)
    account = Account(
        id=new_id(),
        username=body.username,
        username_key=username_key(body.username),
        password_hash=hashed,
        role=body.role,
        org_uscc=body.org_uscc,
        display_name=body.display_name,
        created_at=now,
    )
    try:
        async with uow:
            session = uow.session
            session.add(account)
            await session.flush()
            org = await session.get(Organisation, body.org_uscc, with_for_update=True)
            if org is None:
                if body.invitation is not None:
                    raise organisations.invitation_invalid()
                org = organisations.new_organisation(
                    uscc=body.org_uscc,
                    kind=body.role,
                    name=body.display_name,
                    status="pending",
                    admin_id=account.id,
                    now=now,
                )
                session.add(org)
                await session.flush()
                await events.organisation_registered(uow, org)
            else:
                if body.invitation is None:
                    raise organisations.organisation_exists()
                _same_kind(org, body.role)
                inviter = await organisations.claim_invitation(session, body.invitation, org.uscc, account.id, now)
                if inviter is None:
                    raise organisations.invitation_invalid()
                account.invited_by = inviter
            status = org.status
            await events.account_registered(uow, account)
    except IntegrityError as exc:
        if "organisations" in str(exc.orig).lower() or "pk_organisations" in str(exc.orig).lower():
            raise organisations.organisation_exists() from exc
        raise _username_taken() from exc
    log.info(
        "gateway.account.signed_up",
        username=body.username,
        role=body.role,
        org_uscc=body.org_uscc,
        org_status=status,
        joined=body.invitation is not None,
    )
    return AccountInfo.of(account, status)


def _same_kind(org: Organisation, role: str) -> None:
    if org.kind != role:
        raise ValidationFailed(
            text(
                f"该组织登记为 {org.kind}，账号角色须一致",
                f"The organisation is registered as {org.kind}; the account's role must match",
            ),
            errors=[FieldError("role", text("与组织类型不符", "does not match the organisation"))],
        )


async def create_account(
    gw: Any,
    uow: UnitOfWork,
    *,
    username: str,
    password: str | None,
    role: str,
    district: str | None = None,
    org_uscc: str | None = None,
    display_name: str | None = None,
) -> AccountInfo:
    """An admin-made account. One of an agency or enterprise joins its organisation, and creates
    it ``verified`` when there is none (SPEC §14: how the rightful owner's account is made after a
    wrong claim)."""
    if not await username_free(gw.db, username):
        raise _username_taken()
    hashed = await gw.passwords.hash(password) if password else None
    now = gw.clock.now()
    account = Account(
        id=new_id(),
        username=username,
        username_key=username_key(username),
        password_hash=hashed,
        role=role,
        district=district,
        org_uscc=org_uscc,
        display_name=display_name,
        created_at=now,
    )
    status = None
    try:
        async with uow:
            session = uow.session
            session.add(account)
            await session.flush()
            if org_uscc is not None:
                org = await session.get(Organisation, org_uscc, with_for_update=True)
                if org is None:
                    org = organisations.new_organisation(
                        uscc=org_uscc,
                        kind=role,
                        name=display_name or org_uscc,
                        status="verified",
                        admin_id=account.id,
                        now=now,
                        decided_by="admin",
                    )
                    session.add(org)
                    await session.flush()
                    await events.organisation_registered(uow, org)
                    await events.organisation_verified(
                        uow, org, previous="pending", reason="account created by an admin"
                    )
                else:
                    _same_kind(org, role)
                    if org.admin_account_id is None:
                        org.admin_account_id = account.id
                status = org.status
            await events.account_registered(uow, account)
    except IntegrityError as exc:
        raise _username_taken() from exc
    log.info("gateway.account.created", username=username, role=role, org_uscc=org_uscc)
    return AccountInfo.of(account, status)


async def find_account(db: Database, username: str) -> Account | None:
    async with db.reader() as session:
        return await session.scalar(sa.select(Account).where(col(Account.username_key) == username_key(username)))


async def create_client(uow: UnitOfWork, *, account_id: uuid.UUID, name: str, scopes: str | None) -> dict[str, str]:
    client_id = f"cl-{secrets.token_hex(12)}"
    secret = new_secret()
    async with uow:
        uow.session.add(
            Client(
                client_id=client_id,
                name=name,
                secret_hash=digest(secret),
                account_id=account_id,
                grant_types="client_credentials",
                redirect_uris="",
                scopes=scopes or DEFAULT_SCOPES,
                created_at=uow.now,
            )
        )
    log.info("gateway.client.created", client_id=client_id, account_id=str(account_id))
    return {"client_id": client_id, "client_secret": secret, "name": name, "scopes": scopes or DEFAULT_SCOPES}


def check_production(settings: Settings) -> None:
    check_key_encryption(settings)
    if not settings.is_production:
        return
    if not settings.admin_client_id or not settings.admin_client_secret:
        return  # no bootstrap client: nothing default to refuse
    secret = settings.admin_client_secret
    if secret == DEV_ADMIN_CLIENT_SECRET or len(secret) < MIN_PRODUCTION_SECRET:
        raise StartupRefused(
            "CUSTODY_ADMIN_CLIENT_SECRET is the development default or shorter than "
            f"{MIN_PRODUCTION_SECRET} characters; refusing to start in production"
        )


async def bootstrap(runtime: Any) -> None:
    """``custody-cli`` always; the admin client when CUSTODY_ADMIN_CLIENT_ID/SECRET are set (and its
    admin account, announced when it is made)."""
    db, settings = runtime.db, runtime.settings
    now = runtime.clock.now()
    async with db.transaction() as session:
        cli = await session.get(Client, CLI_CLIENT_ID)
        if cli is None:
            session.add(
                Client(
                    client_id=CLI_CLIENT_ID,
                    name="custody-cli",
                    secret_hash=None,
                    account_id=None,
                    grant_types="authorization_code refresh_token",
                    redirect_uris=" ".join(CLI_REDIRECT_URIS),
                    scopes=DEFAULT_SCOPES,
                    created_at=now,
                )
            )
    if not (settings.admin_client_id and settings.admin_client_secret):
        return
    client_id = settings.admin_client_id
    async with runtime.unit_of_work() as uow:
        session = uow.session
        account = await session.scalar(sa.select(Account).where(col(Account.username_key) == username_key(client_id)))
        if account is None:
            account = Account(
                id=new_id(),
                username=client_id,
                username_key=username_key(client_id),
                password_hash=None,
                role="admin",
                display_name="bootstrap admin",
                created_at=now,
            )
            session.add(account)
            await session.flush()
            await events.account_registered(uow, account)
        elif account.role != "admin":
            raise StartupRefused(f"an account named {client_id!r} exists and is not an admin")
        client = await session.get(Client, client_id)
        hashed = digest(settings.admin_client_secret)
        if client is None:
            session.add(
                Client(
                    client_id=client_id,
                    name="bootstrap admin client",
                    secret_hash=hashed,
                    account_id=account.id,
                    grant_types="client_credentials",
                    redirect_uris="",
                    scopes=DEFAULT_SCOPES,
                    created_at=now,
                )
            )
        else:
            client.secret_hash = hashed
            client.account_id = account.id
            client.grant_types = "client_credentials"
            client.scopes = DEFAULT_SCOPES


ANNOUNCE_BATCH = 200


async def announce_existing(runtime: Any) -> int:
    """Announce, once, every account that has never been (``version`` 0: made before the gateway
    announced accounts), so that a deployment that upgrades fills notify's read model: an
    ``account.registered`` each, followed by ``account.disabled`` for a disabled one (notify tells
    it nothing). Each row is claimed by a conditional UPDATE in the transaction that writes its
    events, so a restart or a second replica starting at the same time announces nobody twice.
    Returns how many were announced."""
    table = Account.__table__
    announced = 0
    while True:
        async with runtime.unit_of_work() as uow:
            session = uow.session
            ids = (
                (
                    await session.execute(
                        sa.select(table.c.id).where(table.c.version == 0).order_by(table.c.id).limit(ANNOUNCE_BATCH)
                    )
                )
                .scalars()
                .all()
            )
            if not ids:
                break
            claimed = (
                (
                    await session.execute(
                        sa.update(table)
                        .where(table.c.id.in_(ids), table.c.version == 0)
                        .values(version=1)
                        .returning(table.c.id)
                    )
                )
                .scalars()
                .all()
            )
            for account in (
                (await session.execute(sa.select(Account).where(table.c.id.in_(claimed)).order_by(table.c.id)))
                .scalars()
                .all()
            ):
                await events.account_registered(uow, account)
                if account.disabled:
                    account.version += 1
                    await events.account_disabled(uow, account)
            announced += len(claimed)
    if announced:
        log.info("gateway.accounts.announced", count=announced)
    return announced
