"""Authlib grants and the models they see, backed by the gateway database.

Authlib's server is synchronous; ``gateway.oauth.server`` runs it in a worker thread, and every
database call below goes back to the event loop with ``anyio.from_thread.run`` (so the async
engine is used from its own loop, never from the thread).

- Authorization codes and refresh tokens are stored as SHA-256 hashes only.
- An authorization code is claimed by deleting it (``DELETE … RETURNING``): it works once.
- A refresh token is claimed by marking it used in one UPDATE; presenting a used (or revoked) one
  again revokes its whole family (every token descended from the same authorization) — except a
  second refresh of the same token by the same client within ``refresh_grace_seconds``, which gets
  the same new pair (a double-click or a retried request must not log the user out). The pair is
  kept encrypted with a key derived from the old token, so only its holder can read it.
- Tokens carry the account's organisation status (``org_status``, SPEC §14).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from urllib.parse import urlsplit

import anyio.from_thread
import sqlalchemy as sa
import structlog
from authlib.oauth2.rfc6749 import InvalidRequestError, grants
from authlib.oauth2.rfc7009 import RevocationEndpoint as _RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint as _IntrospectionEndpoint
from sqlmodel import col

from gateway import revocation
from gateway.models import Account, AuthorizationCode, Client, Organisation, RefreshToken
from shared.clock import Clock, as_utc
from shared.context import request_id_var
from shared.db import Database, rowcount
from shared.revocations import Revocations
from shared.uow import UnitOfWork

if TYPE_CHECKING:
    from gateway.oauth.server import AuthorizationServer, StarletteOAuth2Request

log = structlog.get_logger("gateway.oauth")

READ, WRITE = "custody.read", "custody.write"
SCOPES = (READ, WRITE)
DEFAULT_SCOPES = f"{READ} {WRITE}"
CODE_TTL = timedelta(minutes=5)
REFRESH_TTL = timedelta(days=30)
CLI_CLIENT_ID = "custody-cli"
CLI_REDIRECT_URIS = ("http://127.0.0.1/callback", "http://[::1]/callback", "http://localhost/callback")
SECRET_AUTH = ("client_secret_basic", "client_secret_post")


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def normalize_scope(requested: str | None, allowed: str) -> str:
    allowed_list = allowed.split()
    if not requested:
        return " ".join(allowed_list)
    wanted = set(requested.split())
    return " ".join(s for s in allowed_list if s in wanted)


# --- models Authlib sees ---------------------------------------------------------------------
@dataclass(frozen=True)
class AccountInfo:
    id: uuid.UUID
    username: str
    role: str
    district: str | None = None
    org_uscc: str | None = None
    display_name: str | None = None
    disabled: bool = False
    org_status: str | None = None  # the status of its organisation (agency and enterprise accounts)
    org_admin: bool = False  # the account administers its organisation (SPEC §14)
    email: str | None = None
    language: str | None = None
    version: int = 1

    @classmethod
    def of(cls, row: Account, org_status: str | None = None, org_admin: bool = False) -> AccountInfo:
        return cls(
            id=row.id,
            username=row.username,
            role=row.role,
            district=row.district,
            org_uscc=row.org_uscc,
            display_name=row.display_name,
            disabled=row.disabled,
            org_status=org_status,
            org_admin=org_admin,
            email=row.email,
            language=row.language,
            version=row.version,
        )

    def get_user_id(self) -> str:
        return str(self.id)

    def public(self) -> dict[str, Any]:
        out = {
            "id": str(self.id),
            "username": self.username,
            "role": self.role,
            "district": self.district,
            "org_uscc": self.org_uscc,
            "display_name": self.display_name,
        }
        if self.role in ("agency", "enterprise"):
            out["org_status"] = self.org_status
        return out

    def settings(self) -> dict[str, Any]:
        """What ``/api/v1/me`` shows beyond ``public()``: how notify reaches the person, and the version."""
        return {**self.public(), "email": self.email, "language": self.language, "version": self.version}


async def org_standing(session: Any, row: Account | None) -> tuple[str | None, bool]:
    """The status of the account's organisation and whether the account is its admin."""
    if row is None or row.role not in ("agency", "enterprise") or not row.org_uscc:
        return None, False
    found = (
        await session.execute(
            sa.select(col(Organisation.status), col(Organisation.admin_account_id)).where(
                col(Organisation.uscc) == row.org_uscc
            )
        )
    ).first()
    if found is None:
        return None, False
    return found.status, found.admin_account_id == row.id


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def redirect_matches(registered: str, given: str) -> bool:
    """Exact match, except that a loopback redirect may use any port (RFC 8252 §7.3)."""
    if given == registered:
        return True
    try:
        r, g = urlsplit(registered), urlsplit(given)
        g_port = g.port  # raises ValueError on a malformed port
    except ValueError:
        return False
    if r.scheme != "http" or g.scheme != "http" or not _is_loopback(r.hostname):
        return False
    del g_port
    return (
        r.hostname == g.hostname
        and r.path == g.path
        and r.query == g.query
        and not g.fragment
        and g.username is None
        and g.password is None
    )


@dataclass(frozen=True)
class OAuthClient:
    client_id: str
    name: str
    secret_hash: str | None
    grant_types: tuple[str, ...]
    redirect_uris: tuple[str, ...]
    scopes: str
    account: AccountInfo | None = None

    @classmethod
    def of(cls, row: Client, account: Account | None) -> OAuthClient:
        return cls(
            client_id=row.client_id,
            name=row.name,
            secret_hash=row.secret_hash,
            grant_types=tuple(row.grant_types.split()),
            redirect_uris=tuple(row.redirect_uris.split()),
            scopes=row.scopes,
            account=AccountInfo.of(account) if account is not None else None,
        )

    @property
    def is_public(self) -> bool:
        return self.secret_hash is None

    # ClientMixin
    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return None  # the redirect URI is always explicit

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """The requested scopes this client may have (all of its scopes when none are asked
        for); None when none of the requested ones is allowed (Authlib answers invalid_scope)."""
        granted = normalize_scope(scope, self.scopes)
        return granted or None

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return any(redirect_matches(r, redirect_uri) for r in self.redirect_uris)

    def check_client_secret(self, client_secret: str) -> bool:
        if self.secret_hash is None:
            return False
        return hmac.compare_digest(self.secret_hash, digest(client_secret))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.is_public:
            return method == "none"
        return method in SECRET_AUTH

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


@dataclass(frozen=True)
class CodeRecord:
    client_id: str
    account_id: uuid.UUID
    redirect_uri: str
    scope: str
    code_challenge: str
    code_challenge_method: str
    expires_at: datetime

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


@dataclass(frozen=True)
class RefreshRecord:
    token_hash: str
    family_id: uuid.UUID
    client_id: str
    account_id: uuid.UUID
    scope: str
    expires_at: datetime
    revoked: bool = False
    kind: str = "refresh_token"
    replay: dict[str, Any] | None = None  # the pair already issued for it (a racing second refresh)

    def check_client(self, client: OAuthClient) -> bool:
        return client.client_id == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return int(REFRESH_TTL.total_seconds())

    def is_expired(self) -> bool:
        return self.expires_at <= datetime.now(self.expires_at.tzinfo)

    def is_revoked(self) -> bool:
        return self.revoked


@dataclass(frozen=True)
class AccessRecord:
    claims: dict[str, Any]
    revoked: bool = False
    kind: str = "access_token"

    @property
    def client_id(self) -> str | None:
        return self.claims.get("client_id")

    def check_client(self, client: OAuthClient) -> bool:
        return client.client_id == self.client_id

    def get_scope(self) -> str:
        return str(self.claims.get("scope", ""))

    def is_expired(self) -> bool:
        exp = self.claims.get("exp")
        return not isinstance(exp, (int, float)) or exp <= datetime.now().timestamp()

    def is_revoked(self) -> bool:
        return self.revoked


# --- storage (async; called from the Authlib thread through ``bridge``) -----------------------
def _successor_key(token: str) -> bytes:
    """The key that encrypts the pair issued for ``token``: derived from the token itself (the
    database keeps only ``digest(token)``, a different derivation)."""
    import base64

    return base64.urlsafe_b64encode(
        hashlib.sha256(b"custody-refresh-successor:" + token.encode("utf-8", "surrogatepass")).digest()
    )


def seal_successor(token: str, response: dict[str, Any]) -> str:
    import orjson
    from cryptography.fernet import Fernet

    return Fernet(_successor_key(token)).encrypt(orjson.dumps(response)).decode()


def open_successor(token: str, sealed: str) -> dict[str, Any] | None:
    import orjson
    from cryptography.fernet import Fernet, InvalidToken

    try:
        opened: dict[str, Any] = orjson.loads(Fernet(_successor_key(token)).decrypt(sealed.encode()))
        return opened
    except (InvalidToken, ValueError):
        return None


SUCCESSOR_WAIT_SECONDS = 3.0  # a racing refresh waits this long for the winner's pair


@dataclass
class OAuthStore:
    db: Database
    clock: Clock
    revocations: Revocations = field(default_factory=Revocations)
    grace_seconds: float = 5.0
    # the gateway's Runtime (gateway/main.py): writes that emit (revocations) run on its units of work
    runtime: Any = None

    def unit_of_work(self) -> UnitOfWork:
        """A unit of work of the gateway itself (OAuth calls have no principal of ours), carrying the
        request id of the OAuth request it serves."""
        if self.runtime is None:
            raise RuntimeError("the store needs the gateway's runtime to revoke tokens")
        uow: UnitOfWork = self.runtime.unit_of_work(request_id=request_id_var.get())
        return uow

    async def client(self, client_id: str) -> OAuthClient | None:
        if not isinstance(client_id, str) or len(client_id) > 80:
            return None
        async with self.db.reader() as session:
            row = await session.get(Client, client_id)
            if row is None:
                return None
            account = await session.get(Account, row.account_id) if row.account_id else None
            status, admin = await org_standing(session, account)
        if account is not None and account.disabled:
            return None
        return OAuthClient(
            client_id=row.client_id,
            name=row.name,
            secret_hash=row.secret_hash,
            grant_types=tuple(row.grant_types.split()),
            redirect_uris=tuple(row.redirect_uris.split()),
            scopes=row.scopes,
            account=AccountInfo.of(account, status, admin) if account is not None else None,
        )

    async def account(self, account_id: uuid.UUID) -> AccountInfo | None:
        async with self.db.reader() as session:
            row = await session.get(Account, account_id)
            status, admin = await org_standing(session, row)
        return AccountInfo.of(row, status, admin) if row is not None and not row.disabled else None

    async def save_code(
        self,
        code: str,
        *,
        client_id: str,
        account_id: uuid.UUID,
        redirect_uri: str,
        scope: str,
        challenge: str,
        method: str,
    ) -> None:
        async with self.db.transaction() as session:
            session.add(
                AuthorizationCode(
                    code_hash=digest(code),
                    client_id=client_id,
                    account_id=account_id,
                    redirect_uri=redirect_uri,
                    scope=scope,
                    code_challenge=challenge,
                    code_challenge_method=method,
                    expires_at=self.clock.now() + CODE_TTL,
                )
            )

    async def claim_code(self, code: str, client_id: str) -> CodeRecord | None:
        table = AuthorizationCode.__table__
        async with self.db.transaction() as session:
            row = (
                await session.execute(sa.delete(table).where(table.c.code_hash == digest(code)).returning(*table.c))
            ).first()
        if row is None or row.client_id != client_id or as_utc(row.expires_at) <= self.clock.now():
            return None
        return CodeRecord(
            client_id=row.client_id,
            account_id=row.account_id,
            redirect_uri=row.redirect_uri,
            scope=row.scope,
            code_challenge=row.code_challenge,
            code_challenge_method=row.code_challenge_method,
            expires_at=as_utc(row.expires_at),
        )

    async def save_refresh(
        self,
        token: str,
        *,
        family_id: uuid.UUID,
        client_id: str,
        account_id: uuid.UUID,
        scope: str,
        access_jti: str | None = None,
        access_exp: float | None = None,
        previous: tuple[str, str] | None = None,
        response: dict[str, Any] | None = None,
    ) -> None:
        """Store a new refresh token; with ``previous`` (its hash and plaintext), keep the response
        that replaced it, sealed with the old token, for a racing second refresh."""

        now = self.clock.now()
        access_expires_at = datetime.fromtimestamp(access_exp, UTC) if access_exp else None
        async with self.db.transaction() as session:
            session.add(
                RefreshToken(
                    token_hash=digest(token),
                    family_id=family_id,
                    client_id=client_id,
                    account_id=account_id,
                    scope=scope,
                    created_at=now,
                    expires_at=now + REFRESH_TTL,
                    access_jti=access_jti,
                    access_expires_at=access_expires_at,
                )
            )
            if previous is not None and response is not None and self.grace_seconds > 0:
                table = RefreshToken.__table__
                await session.execute(
                    sa.update(table)
                    .where(table.c.token_hash == previous[0])
                    .values(successor=seal_successor(previous[1], response))
                )

    async def find_refresh(self, token: str) -> RefreshRecord | None:
        async with self.db.reader() as session:
            row = await session.get(RefreshToken, digest(token))
        if row is None:
            return None
        return RefreshRecord(
            token_hash=row.token_hash,
            family_id=row.family_id,
            client_id=row.client_id,
            account_id=row.account_id,
            scope=row.scope,
            expires_at=as_utc(row.expires_at),
            revoked=row.revoked_at is not None or row.used_at is not None,
        )

    async def refresh_exists(self, token: str) -> bool:
        if not isinstance(token, str) or len(token) > 200:
            return False
        async with self.db.reader() as session:
            return (
                await session.scalar(
                    sa.select(col(RefreshToken.token_hash)).where(col(RefreshToken.token_hash) == digest(token))
                )
                is not None
            )

    async def claim_refresh(self, token: str, client_id: str | None = None) -> RefreshRecord | None:
        """Mark the token used and return it; a token used or revoked before revokes its family,
        unless the same client refreshed it within the grace window: then the pair that replaced it."""
        table = RefreshToken.__table__
        now = self.clock.now()
        hashed = digest(token)
        async with self.unit_of_work() as uow:
            session = uow.session
            claimed = await session.execute(
                sa.update(table)
                .where(
                    table.c.token_hash == hashed,
                    table.c.used_at.is_(None),
                    table.c.revoked_at.is_(None),
                    table.c.expires_at > now,
                )
                .values(used_at=now)
            )
            row = (await session.execute(sa.select(table).where(table.c.token_hash == hashed))).first()
            if row is None:
                return None
            if rowcount(claimed) != 1:
                if self._in_grace(row, client_id):
                    pass  # answered below, outside the transaction
                elif row.used_at is not None or row.revoked_at is not None:
                    await self._revoke_family(uow, row.family_id)
                    log.warning("gateway.oauth.refresh_reuse", family_id=str(row.family_id), client_id=row.client_id)
                    return None
                else:
                    return None
        record = RefreshRecord(
            token_hash=row.token_hash,
            family_id=row.family_id,
            client_id=row.client_id,
            account_id=row.account_id,
            scope=row.scope,
            expires_at=as_utc(row.expires_at),
        )
        if rowcount(claimed) == 1:
            return record
        replay = await self._successor(token, hashed)
        if replay is None:
            async with self.unit_of_work() as uow:
                await self._revoke_family(uow, row.family_id)
            log.warning("gateway.oauth.refresh_race_lost", family_id=str(row.family_id), client_id=row.client_id)
            return None
        log.info("gateway.oauth.refresh_replayed", family_id=str(row.family_id), client_id=row.client_id)
        return RefreshRecord(**{**record.__dict__, "replay": replay})

    def _in_grace(self, row: Any, client_id: str | None) -> bool:
        return (
            self.grace_seconds > 0
            and client_id is not None
            and row.client_id == client_id
            and row.used_at is not None
            and row.revoked_at is None
            and (self.clock.now() - as_utc(row.used_at)).total_seconds() <= self.grace_seconds
        )

    async def _successor(self, token: str, hashed: str) -> dict[str, Any] | None:
        """The pair that replaced ``token`` (waiting a little for the refresh that won the race to
        store it), or None."""
        import asyncio

        table = RefreshToken.__table__
        deadline = asyncio.get_running_loop().time() + SUCCESSOR_WAIT_SECONDS
        while True:
            async with self.db.reader() as session:
                row = (
                    await session.execute(
                        sa.select(table.c.successor, table.c.revoked_at).where(table.c.token_hash == hashed)
                    )
                ).first()
            if row is None or row.revoked_at is not None:
                return None
            if row.successor:
                return open_successor(token, row.successor)
            if asyncio.get_running_loop().time() > deadline:
                return None
            await asyncio.sleep(0.05)

    async def revoke_family(self, family_id: uuid.UUID) -> None:
        async with self.unit_of_work() as uow:
            await self._revoke_family(uow, family_id)

    async def _revoke_family(self, uow: UnitOfWork, family_id: uuid.UUID) -> None:
        """Every refresh token of the family, and the access tokens issued with them that have not
        expired yet (at the gateway and, through the bus, at every service)."""
        table = RefreshToken.__table__
        session = uow.session
        now = self.clock.now()
        await session.execute(
            sa.update(table).where(table.c.family_id == family_id, table.c.revoked_at.is_(None)).values(revoked_at=now)
        )
        live = (
            await session.execute(
                sa.select(table.c.access_jti, table.c.access_expires_at).where(
                    table.c.family_id == family_id, table.c.access_jti.is_not(None), table.c.access_expires_at > now
                )
            )
        ).all()
        await revocation.revoke_jtis(
            uow, self.revocations, jtis={jti: as_utc(exp) for jti, exp in live}, reason="refresh family revoked"
        )

    async def revoke_jti(self, jti: str, exp: float) -> None:

        async with self.unit_of_work() as uow:
            await revocation.revoke_jtis(
                uow,
                self.revocations,
                jtis={jti: datetime.fromtimestamp(exp, UTC)},
                reason="revoked (RFC 7009)",
            )

    def is_revoked(self, claims: dict[str, Any]) -> bool:
        jti, sub, client_id, iat = claims.get("jti"), claims.get("sub"), claims.get("client_id"), claims.get("iat")
        return self.revocations.is_revoked(
            subject=sub if isinstance(sub, str) else None,
            client_id=client_id if isinstance(client_id, str) else None,
            jti=jti if isinstance(jti, str) else None,
            iat=float(iat) if isinstance(iat, (int, float)) and not isinstance(iat, bool) else None,
        )

    async def load_revoked(self) -> None:
        await revocation.load(self.db, self.revocations, self.clock)

    async def purge_expired(self) -> None:
        from gateway.models import RevokedToken

        now = self.clock.now()
        async with self.db.transaction() as session:
            await session.execute(sa.delete(RevokedToken.__table__).where(RevokedToken.__table__.c.expires_at < now))
            await session.execute(
                sa.delete(AuthorizationCode.__table__).where(AuthorizationCode.__table__.c.expires_at < now)
            )
            await revocation.purge(session, self.clock)
        self.revocations.purge()


T = TypeVar("T")


def bridge(fn: Callable[..., Coroutine[Any, Any, T]], *args: Any, **kwargs: Any) -> T:
    """Run an async store call on the event loop from the Authlib worker thread."""
    if kwargs:
        return anyio.from_thread.run(lambda: fn(*args, **kwargs))
    return anyio.from_thread.run(fn, *args)


# --- grants ----------------------------------------------------------------------------------
class S256CodeChallenge(CodeChallenge):
    """PKCE with ``S256`` only, required on every authorization request."""

    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar[list[str]] = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant: AuthorizationCodeGrant, redirect_uri: str | None) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: missing 'code_challenge'")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("PKCE 'code_challenge_method' must be S256")
        super().validate_code_challenge(grant, redirect_uri)  # a hook: Authlib ignores what it returns

    def validate_code_verifier(self, grant: AuthorizationCodeGrant, result: Any) -> None:
        if not grant.request.form.get("code_verifier"):
            raise InvalidRequestError("Missing 'code_verifier'")
        super().validate_code_verifier(grant, result)

    def get_authorization_code_challenge(self, authorization_code: CodeRecord) -> str:
        return authorization_code.code_challenge

    def get_authorization_code_challenge_method(self, authorization_code: CodeRecord) -> str:
        return authorization_code.code_challenge_method


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = [*SECRET_AUTH, "none"]
    server: AuthorizationServer

    def save_authorization_code(self, code: str, request: StarletteOAuth2Request) -> None:
        data = request.payload.data
        bridge(
            self.server.store.save_code,
            code,
            client_id=request.client.client_id,
            account_id=request.user.id,
            redirect_uri=request.payload.redirect_uri,
            scope=request.scope or "",
            challenge=data.get("code_challenge"),
            method=data.get("code_challenge_method"),
        )

    def query_authorization_code(self, code: str, client: OAuthClient) -> CodeRecord | None:
        if not isinstance(code, str) or len(code) > 200:
            return None
        return bridge(self.server.store.claim_code, code, client.client_id)

    def delete_authorization_code(self, authorization_code: CodeRecord) -> None:
        pass  # claimed (deleted) when it was queried

    def authenticate_user(self, authorization_code: CodeRecord) -> AccountInfo | None:
        return bridge(self.server.store.account, authorization_code.account_id)


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = [*SECRET_AUTH, "none"]
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotated on every use
    server: AuthorizationServer

    def authenticate_refresh_token(self, refresh_token: str) -> RefreshRecord | None:
        if not isinstance(refresh_token, str) or len(refresh_token) > 200:
            return None
        client = getattr(self.request, "client", None)
        return bridge(self.server.store.claim_refresh, refresh_token, client.client_id if client else None)

    def authenticate_user(self, refresh_token: RefreshRecord) -> AccountInfo | None:
        return bridge(self.server.store.account, refresh_token.account_id)

    def create_token_response(self) -> tuple[int, Any, Any]:
        record = self.request.refresh_token
        if record is not None and record.replay is not None:  # a racing refresh: the same new pair
            if not self.authenticate_user(record):
                raise InvalidRequestError("There is no 'user' for this token.")
            return 200, record.replay, self.TOKEN_RESPONSE_HEADER
        response: tuple[int, Any, Any] = super().create_token_response()
        return response

    def revoke_old_credential(self, refresh_token: RefreshRecord) -> None:
        pass  # marked used when it was claimed


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(SECRET_AUTH)


def _query_token(
    server: AuthorizationServer, token_string: str, hint: str | None
) -> AccessRecord | RefreshRecord | None:
    if not isinstance(token_string, str) or len(token_string) > 8192:
        return None
    if token_string.count(".") == 2 and hint != "refresh_token":
        claims = server.keys.verify(token_string)
        if claims is not None:
            return AccessRecord(claims, revoked=server.store.is_revoked(claims))
        return None
    if hint == "access_token":
        return None
    return bridge(server.store.find_refresh, token_string)


class RevocationEndpoint(_RevocationEndpoint):
    CLIENT_AUTH_METHODS: ClassVar[list[str]] = [*SECRET_AUTH, "none"]
    server: AuthorizationServer

    def query_token(self, token_string: str, token_type_hint: str | None) -> AccessRecord | RefreshRecord | None:
        return _query_token(self.server, token_string, token_type_hint)

    def revoke_token(self, token: AccessRecord | RefreshRecord, request: StarletteOAuth2Request) -> None:
        if isinstance(token, AccessRecord):
            jti = token.claims.get("jti")
            if isinstance(jti, str):
                bridge(self.server.store.revoke_jti, jti, float(token.claims.get("exp", 0)))
        else:
            bridge(self.server.store.revoke_family, token.family_id)


class IntrospectionEndpoint(_IntrospectionEndpoint):
    CLIENT_AUTH_METHODS: ClassVar[list[str]] = list(SECRET_AUTH)
    server: AuthorizationServer

    def query_token(self, token_string: str, token_type_hint: str | None) -> AccessRecord | RefreshRecord | None:
        return _query_token(self.server, token_string, token_type_hint)

    def check_permission(
        self, token: AccessRecord | RefreshRecord, client: OAuthClient, request: StarletteOAuth2Request
    ) -> bool:
        """A client may introspect its own tokens; a client acting as an admin, any token."""
        return token.check_client(client) or (client.account is not None and client.account.role == "admin")

    def introspect_token(self, token: AccessRecord | RefreshRecord) -> dict[str, Any]:
        if isinstance(token, AccessRecord):
            claims = token.claims
            return {
                "active": True,
                "token_type": "Bearer",
                **{
                    k: claims[k]
                    for k in (
                        "scope",
                        "client_id",
                        "username",
                        "sub",
                        "aud",
                        "iss",
                        "exp",
                        "iat",
                        "nbf",
                        "jti",
                        "role",
                        "district",
                        "org_uscc",
                        "org_status",
                        "org_admin",
                    )
                    if k in claims
                },
            }
        return {
            "active": True,
            "token_type": "refresh_token",
            "client_id": token.client_id,
            "scope": token.scope,
            "sub": str(token.account_id),
            "exp": int(token.expires_at.timestamp()),
        }
