"""Bearer-token verification and the ``Principal`` every service authorizes with.

Every service verifies access tokens itself against the gateway's JWKS — the gateway is not a
trust boundary. Algorithms are pinned (RS256 / EdDSA: an ``alg: none`` token or an HS256 token
made with the public key is refused), ``iss``, ``aud``, ``exp`` and ``nbf`` are checked, and the
JWKS is cached, refreshed on a schedule and when the bus says a key was rotated or revoked (so a
retired or revoked key is dropped), and refetched at most every 5 s on an unknown ``kid`` (so a
flood of bogus kids cannot make us hammer the gateway; docs/DECISIONS.md D9).

Hardening: a token is at most ``MAX_TOKEN_BYTES``; every claim has the type it must have (a
``"jti": []`` or a nested object where a string belongs is a 401, never a 500); ``exp - iat`` is at
most 15 minutes; a token revoked on the bus (``shared.revocations``) is refused, cached or not.

Organisations (SPEC §14): tokens of agency and enterprise accounts carry ``org_status``. The
standard ``CurrentPrincipal`` (and ``MaybePrincipal``) refuses every unsafe method (POST, PUT,
PATCH, DELETE) of such a principal whose organisation is not ``verified`` with 403
``organisation_unverified`` — fail-closed: a token without ``org_status`` counts as unverified.
``PendingOrgPrincipal`` admits a ``pending`` organisation too; it is used only on the few routes
§14 allows (an agency's own filing, an enterprise creating its own record). ``AccountPrincipal``
admits any organisation status for an account's own settings at the gateway (password, clients).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeGuard

import httpx
import structlog
from fastapi import Depends, Request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from shared.errors import ErrorCode, Forbidden, ServiceUnavailable, Unauthorized
from shared.i18n import text
from shared.revocations import RevocationFeed, Revocations
from shared.roles import ORG_ROLES, Role

log = structlog.get_logger("shared.auth")

ALGORITHMS = ("RS256", "EdDSA")
MAX_TOKEN_BYTES = 8192
MAX_LIFETIME_SECONDS = 900  # SPEC §6: exp - iat at most 15 minutes
REFETCH_INTERVAL_SECONDS = 5.0  # on an unknown kid (docs/DECISIONS.md D9: rotation activates after 6 s)
VERIFIED = "verified"
PENDING = "pending"
VERIFIED_CACHE_SIZE = 10_000  # tokens remembered after a full verification (see TokenVerifier.verify)
READ_SCOPE = "custody.read"
WRITE_SCOPE = "custody.write"
ROLES = tuple(str(r) for r in (Role.ADMIN, Role.BUREAU, Role.AGENCY, Role.ENTERPRISE))  # what a token may carry


@dataclass(frozen=True)
class Principal:
    subject: str
    role: str
    scopes: frozenset[str] = field(default_factory=frozenset)
    client_id: str | None = None
    district: str | None = None
    org_uscc: str | None = None
    username: str | None = None
    org_status: str | None = None
    org_admin: bool = False  # the account administers its organisation (the token says so)

    @classmethod
    def system(cls, service: str) -> Principal:
        """The service itself, acting in an event handler or a sweep."""
        return cls(subject=f"system:{service}", role=Role.SYSTEM, username=service)

    @classmethod
    def anonymous(cls) -> Principal:
        """A caller without a token (public endpoints)."""
        return cls(subject="anonymous", role=Role.PUBLIC, username="anonymous")

    @property
    def is_system(self) -> bool:
        return self.role == Role.SYSTEM

    @property
    def is_anonymous(self) -> bool:
        return self.role == Role.PUBLIC

    @property
    def acts_for_org(self) -> bool:
        return self.role in ORG_ROLES

    @property
    def org_verified(self) -> bool:
        """False for an agency or enterprise whose organisation is not verified (or whose token
        does not say: fail-closed)."""
        return not self.acts_for_org or self.org_status == VERIFIED

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_bureau(self) -> bool:
        return self.role == Role.BUREAU

    @property
    def is_city_bureau(self) -> bool:
        from shared.reference import load_jurisdiction

        return self.role == Role.BUREAU and self.district is not None and load_jurisdiction().is_city(self.district)

    @property
    def district_code(self) -> str | None:
        """The district of a bureau's area: its district, or the district of its town (SPEC §22)."""
        from shared.reference import load_jurisdiction

        if self.role != Role.BUREAU or self.district is None:
            return None
        return load_jurisdiction().district_of(self.district)

    @property
    def town_code(self) -> str | None:
        """A town bureau's town (its ``district`` claim is a town code, SPEC §22); None otherwise."""
        from shared.reference import load_jurisdiction

        if self.role == Role.BUREAU and self.district is not None and load_jurisdiction().is_town(self.district):
            return self.district
        return None

    @property
    def is_town_bureau(self) -> bool:
        return self.town_code is not None

    @property
    def sees_everything(self) -> bool:
        """Admin, the city bureau and the service itself see every district."""
        return self.is_admin or self.is_city_bureau or self.is_system

    def governs(self, district_code: str | None, *, town: str | None = None, district_wide: bool = False) -> bool:
        """True for admin, the city bureau, and the bureau of ``district_code``; a town bureau
        governs a record of its district only when the record's ``town`` is its town — or, for
        a record that has no town (an agency), when the rule declares it ``district_wide``."""
        if self.sees_everything:
            return True
        if not self.is_bureau or district_code is None or self.district_code != district_code:
            return False
        if self.town_code is None:
            return True
        return town == self.town_code if town is not None else district_wide

    def is_org(self, uscc: str | None) -> bool:
        return self.role in ORG_ROLES and uscc is not None and self.org_uscc == uscc

    def require_role(self, *roles: str) -> Principal:
        if self.role not in roles:
            raise Forbidden(
                text(f"此操作需要以下角色之一：{', '.join(roles)}", f"This needs one of the roles: {', '.join(roles)}")
            )
        return self

    @property
    def actor(self) -> str:
        """How the principal is named in histories and audit trails."""
        if self.is_system:
            return self.subject
        return f"{self.role}:{self.username or self.subject}"


class TokenRevoked(Unauthorized):
    code = ErrorCode.TOKEN_REVOKED

    def __init__(self) -> None:
        super().__init__(text("访问令牌已被撤销", "The access token was revoked"))


def _unauthorized(zh: str, en: str) -> Unauthorized:
    return Unauthorized(text(zh, en))


class TokenVerifier:
    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks_url: str | None = None,
        jwks: dict[str, Any] | None = None,
        timeout: float = 3.0,
        leeway: int = 5,
        refetch_interval: float = REFETCH_INTERVAL_SECONDS,
        revocations: Revocations | None = None,
        refresh_seconds: float = 60.0,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.audience = audience
        self.jwks_url = jwks_url
        self.timeout = timeout
        self.leeway = leeway
        self._keys: KeySet | None = KeySet.import_key_set(jwks) if jwks else None  # type: ignore[arg-type]
        self._kids: set[str] = {k.get("kid") for k in (jwks or {}).get("keys", [])}
        self._last_fetch = 0.0
        self.refetch_interval = refetch_interval
        self.refresh_seconds = refresh_seconds
        self._missed_kids: dict[str, float] = {}  # unknown kid -> when we last refetched for it
        self._lock = asyncio.Lock()
        self._verified: OrderedDict[str, tuple[Principal, float, str, str, float]] = OrderedDict()
        self.revocations = revocations or Revocations()
        self.feed: RevocationFeed | None = None
        self._refresher: asyncio.Task[None] | None = None
        self._claims = jwt.JWTClaimsRegistry(
            leeway=leeway,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": audience},
            exp={"essential": True},
            sub={"essential": True},
        )

    # --- lifecycle: the revocation feed and the scheduled JWKS refresh ------------------------
    async def start(self, bus: Any = None, *, sync_timeout: float = 5.0) -> None:
        """Listen to revocations and key events on ``bus`` (an ephemeral consumer of this process,
        shared.revocations) and refresh the JWKS every ``refresh_seconds``. Waits (at most
        ``sync_timeout``) for the replay of recent revocations, so that a restarted process does
        not accept a token revoked just before it started."""
        if bus is not None and self.feed is None:
            self.feed = RevocationFeed(bus, self.revocations, on_key_event=self._on_key_event)
            self.feed.start()
            if not await self.feed.wait_synced(sync_timeout):
                log.warning("auth.revocations_not_synced", timeout=sync_timeout)
        if self.jwks_url is not None and self.refresh_seconds > 0 and self._refresher is None:
            self._refresher = asyncio.create_task(self._refresh_periodically(), name="jwks-refresh")

    async def stop(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._refresher
            self._refresher = None
        if self.feed is not None:
            await self.feed.stop()
            self.feed = None

    async def _refresh_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_seconds)
            try:
                await self.refresh_now()
            except Exception as exc:
                log.warning("auth.jwks_refresh_failed", error=str(exc))

    async def _on_key_event(self, event: Any) -> None:
        log.info("auth.key_event", type=getattr(event, "type", None))
        await self.refresh_now()

    async def refresh_now(self) -> None:
        """Refetch the JWKS now (a key was rotated or revoked, or the schedule says so): keys no
        longer published are dropped, and so are the cached tokens they signed."""
        await self._refresh(force=True, scheduled=True)

    async def _refresh(self, *, force: bool, scheduled: bool = False) -> None:
        if self.jwks_url is None:
            return
        async with self._lock:
            if not force and self._keys is not None:
                return
            if force and not scheduled and time.monotonic() - self._last_fetch < self.refetch_interval:
                return  # a flood of bogus kids cannot make us hammer the gateway
            self._last_fetch = time.monotonic()
            try:
                async with httpx.AsyncClient(timeout=self.timeout) as client:
                    response = await client.get(self.jwks_url)
                    response.raise_for_status()
                    data = response.json()
                keys = KeySet.import_key_set(data)
                kids = {k.get("kid") for k in data.get("keys", [])}
            except (httpx.HTTPError, ValueError, TypeError, AttributeError, JoseError) as exc:
                log.warning("auth.jwks_fetch_failed", url=self.jwks_url, error=str(exc))
                if self._keys is None:
                    raise ServiceUnavailable(
                        text("无法获取令牌公钥（网关不可用）", "Cannot fetch the token keys (gateway unavailable)")
                    ) from exc
                return
            dropped = self._kids - kids
            self._keys, self._kids = keys, kids
            if dropped:
                log.info("auth.jwks_keys_dropped", kids=sorted(k for k in dropped if isinstance(k, str)))

    def _may_refetch_for(self, kid: str) -> bool:
        """Refetch once per unknown kid a minute (and the set stays small)."""
        now = time.monotonic()
        if now - self._missed_kids.get(kid, -1e9) < 60.0:
            return False
        if len(self._missed_kids) > 1000:
            self._missed_kids.clear()
        self._missed_kids[kid] = now
        return True

    # --- verification --------------------------------------------------------------------
    async def verify(self, token: str) -> Principal:
        """The principal of a valid token. A token verified once is remembered until it expires
        (bounded LRU): an RS256 verification and claims check cost ~0.25 ms of CPU, paid again on
        every request of a client that keeps its token. A remembered token is still refused once
        it expires, once its key is no longer in the JWKS, or once it is revoked, exactly as a
        full verification would."""
        if not isinstance(token, str) or len(token) > MAX_TOKEN_BYTES:
            raise _unauthorized("访问令牌格式无效", "Malformed access token")
        hit = self._verified.get(token)
        if hit is not None:
            principal, expires, kid, jti, iat = hit
            if time.time() <= expires + self.leeway and kid in self._kids:
                self._check_revoked(principal, jti, iat)
                self._verified.move_to_end(token)
                return principal
            del self._verified[token]
        principal, expires, kid, jti, iat = await self._verify(token)
        self._check_revoked(principal, jti, iat)
        self._verified[token] = (principal, expires, kid, jti, iat)
        if len(self._verified) > VERIFIED_CACHE_SIZE:
            self._verified.popitem(last=False)
        return principal

    def is_revoked(self, principal: Principal, jti: str | None, iat: float | None) -> bool:
        return self.revocations.is_revoked(subject=principal.subject, client_id=principal.client_id, jti=jti, iat=iat)

    def _check_revoked(self, principal: Principal, jti: str, iat: float) -> None:
        if self.is_revoked(principal, jti, iat):
            raise TokenRevoked()

    async def _verify(self, token: str) -> tuple[Principal, float, str, str, float]:
        try:
            header = _header_of(token)
        except (ValueError, TypeError, RecursionError) as exc:
            raise _unauthorized("访问令牌格式无效", "Malformed access token") from exc
        if header.get("alg") not in ALGORITHMS:
            raise _unauthorized("不接受的签名算法", "Signature algorithm not accepted")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise _unauthorized("未知的签名密钥", "Unknown signing key")
        if self._keys is None:
            await self._refresh(force=False)
        if kid not in self._kids and self._may_refetch_for(kid):
            await self._refresh(force=True)
        if self._keys is None or kid not in self._kids:
            raise _unauthorized("未知的签名密钥", "Unknown signing key")
        try:
            decoded = jwt.decode(token, self._keys, algorithms=list(ALGORITHMS))
            self._claims.validate(decoded.claims)
        except (JoseError, ValueError, TypeError, KeyError, RecursionError) as exc:
            raise _unauthorized("访问令牌无效或已过期", "Invalid or expired access token") from exc
        claims = decoded.claims
        if not isinstance(claims, dict):
            raise _unauthorized("访问令牌格式无效", "Malformed access token")
        return _principal_of(claims, leeway=self.leeway), float(claims["exp"]), kid, claims["jti"], float(claims["iat"])


def _number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _optional_str(value: Any) -> bool:
    return value is None or (isinstance(value, str) and len(value) <= 200)


def _principal_of(claims: dict[str, Any], *, leeway: int) -> Principal:
    """Claims of a verified token as a ``Principal``; every claim must have its type (a list, an
    object or a number where a string belongs is a malformed token: 401)."""
    now = time.time()
    sub, jti, exp, iat = claims.get("sub"), claims.get("jti"), claims.get("exp"), claims.get("iat")
    if not (
        isinstance(sub, str)
        and 0 < len(sub) <= 200
        and isinstance(jti, str)
        and 0 < len(jti) <= 200
        and _number(exp)
        and _number(iat)
    ):
        raise _unauthorized("访问令牌缺少或含有无效的声明", "The token lacks a claim or has an invalid one")
    exp, iat = float(exp), float(iat)  # checked by _number just above
    if not all(
        _optional_str(claims.get(name)) for name in ("client_id", "district", "org_uscc", "org_status", "username")
    ) or not isinstance(claims.get("scope", ""), str):
        raise _unauthorized("访问令牌含有无效的声明", "The token has an invalid claim")
    if exp - iat > MAX_LIFETIME_SECONDS:
        raise _unauthorized("访问令牌有效期超过 15 分钟", "The token lives longer than 15 minutes")
    nbf = claims.get("nbf")
    if nbf is not None and not _number(nbf):
        raise _unauthorized("访问令牌含有无效的声明", "The token has an invalid claim")
    if _number(nbf) and nbf > now + leeway:
        raise _unauthorized("访问令牌尚未生效", "Token not yet valid")
    if iat > now + leeway:
        raise _unauthorized("访问令牌签发时间无效", "Token issued in the future")
    role = claims.get("role")
    if role not in ROLES:
        raise _unauthorized("访问令牌缺少角色", "Token has no valid role")
    return Principal(
        subject=sub,
        role=Role(role),
        scopes=frozenset(str(claims.get("scope", "")).split()),
        client_id=claims.get("client_id"),
        district=claims.get("district"),
        org_uscc=claims.get("org_uscc"),
        username=claims.get("username"),
        org_status=claims.get("org_status"),
        org_admin=claims.get("org_admin") is True,
    )


def _header_of(token: str) -> dict[str, Any]:
    import base64
    import json

    parts = token.split(".")
    if len(parts) != 3 or len(parts[0]) > 2048:
        raise ValueError("not a compact JWS")
    segment = parts[0] + "=" * (-len(parts[0]) % 4)
    header = json.loads(base64.urlsafe_b64decode(segment.encode()))
    if not isinstance(header, dict):
        raise ValueError("header is not an object")
    return header


def bearer_token(request: Request) -> str | None:
    value = request.headers.get("authorization")
    if not value:
        return None
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(text("仅支持 Bearer 令牌", "Only Bearer tokens are accepted"), error="invalid_request")
    return token.strip()


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ADMIT_VERIFIED, ADMIT_PENDING, ADMIT_ANY = "verified", "pending", "any"


def organisation_unverified(principal: Principal) -> Forbidden:
    status = principal.org_status or "unknown"
    return Forbidden(
        text(
            f"所属组织尚未通过核验（当前状态：{status}），核验通过前只能办理本机构备案或登记本企业信息；请联系所在区应急管理局",
            f"Your organisation is not verified (status: {status}); until it is, only your own filing (agency) or "
            "registering your own record (enterprise) is allowed — ask your district bureau",
        ),
        code=ErrorCode.ORGANISATION_UNVERIFIED,
        extra={"org_status": status},
    )


def check_organisation(principal: Principal, method: str, admit: str = ADMIT_VERIFIED) -> None:
    """The §14 rule: an unsafe method by an agency or enterprise whose organisation is not verified
    is refused — unless the route admits ``pending`` (PendingOrgPrincipal) or any status
    (AccountPrincipal)."""
    if method in SAFE_METHODS or principal.org_verified or admit == ADMIT_ANY:
        return
    if admit == ADMIT_PENDING and principal.org_status == PENDING:
        return
    raise organisation_unverified(principal)


async def principal_from_request(request: Request) -> Principal | None:
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    token = bearer_token(request)
    if token is None:
        return None
    principal: Principal = await request.app.state.verifier.verify(token)
    needed = READ_SCOPE if request.method in SAFE_METHODS else WRITE_SCOPE
    if needed not in principal.scopes:
        raise Forbidden(
            text(f"令牌缺少权限范围 {needed}", f"The token lacks the scope {needed}"), code=ErrorCode.INSUFFICIENT_SCOPE
        )
    request.state.principal = principal
    return principal


async def optional_principal(request: Request) -> Principal | None:
    principal = await principal_from_request(request)
    if principal is not None:
        check_organisation(principal, request.method)
    return principal


def _required(admit: str) -> Callable[[Request], Awaitable[Principal]]:
    async def dependency(request: Request) -> Principal:
        principal = await principal_from_request(request)
        if principal is None:
            raise Unauthorized(text("需要登录或提供访问令牌", "A bearer token is required"), error="invalid_request")
        check_organisation(principal, request.method, admit)
        return principal

    return dependency


require_principal = _required(ADMIT_VERIFIED)
require_principal_pending_org = _required(ADMIT_PENDING)
require_account = _required(ADMIT_ANY)


def require_roles(*roles: str) -> Callable[..., Awaitable[Principal]]:
    async def dependency(principal: Annotated[Principal, Depends(require_principal)]) -> Principal:
        return principal.require_role(*roles)

    return dependency


CurrentPrincipal = Annotated[Principal, Depends(require_principal)]
# Only on the routes SPEC §14 allows an unverified (pending) organisation: an agency's own filing
# (create, edit, documents, submit), an enterprise registering its own record.
PendingOrgPrincipal = Annotated[Principal, Depends(require_principal_pending_org)]
# An account's own settings at the gateway (password, its clients), whatever its organisation's status.
AccountPrincipal = Annotated[Principal, Depends(require_account)]
MaybePrincipal = Annotated[Principal | None, Depends(optional_principal)]
AdminPrincipal = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
