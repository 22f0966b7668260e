"""Authlib's ``AuthorizationServer`` adapted to Starlette (after polarsource/polar's
``polar/oauth2/``), plus the token generator that mints the platform's access tokens.

Authlib is synchronous. Each OAuth call runs in a worker thread (``anyio.to_thread``); the store
methods it calls hop back to the event loop (``gateway.oauth.grants.bridge``). The request body is
read (and size-limited) on the loop before the thread starts, so the thread never touches ASGI.
"""

from __future__ import annotations

import secrets
import uuid
from collections import defaultdict
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import anyio.to_thread
import orjson
import structlog
from authlib.oauth2 import AuthorizationServer as _AuthorizationServer
from authlib.oauth2.rfc6749 import InvalidScopeError, OAuth2Payload, OAuth2Request, UnauthorizedClientError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gateway.oauth.grants import (
    SCOPES,
    AccountInfo,
    AuthorizationCodeGrant,
    ClientCredentialsGrant,
    IntrospectionEndpoint,
    OAuthClient,
    OAuthStore,
    RefreshTokenGrant,
    RevocationEndpoint,
    S256CodeChallenge,
    bridge,
    new_secret,
)
from gateway.oauth.keys import KeyStore
from gateway.proxy import unverified_claims
from shared.clock import Clock
from shared.settings import Settings

log = structlog.get_logger("gateway.oauth")
MAX_FORM_BYTES = 64 * 1024
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class FormTooLarge(Exception):
    pass


class StarlettePayload(OAuth2Payload):
    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._data: dict[str, str] = {}
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in pairs:
            self._data.setdefault(key, value)
            self._datalist[key].append(value)

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class StarletteOAuth2Request(OAuth2Request):
    def __init__(
        self,
        *,
        method: str,
        uri: str,
        headers: Any,
        args: list[tuple[str, str]],
        form: list[tuple[str, str]],
        payload_from: str,
    ) -> None:
        super().__init__(method=method, uri=uri, headers=headers)
        self._args = dict(args)
        self._form = dict(form)
        self.payload = StarlettePayload(args if payload_from == "args" else form)

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


async def read_form(request: Request) -> list[tuple[str, str]]:
    """The urlencoded body (at most 64 KiB), or [] for another content type."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise FormTooLarge()
    if ctype != "application/x-www-form-urlencoded":
        return []
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=100)
    except (UnicodeDecodeError, ValueError):
        return []


def oauth_request(
    request: Request, settings: Settings, *, form: list[tuple[str, str]], payload_from: str
) -> StarletteOAuth2Request:
    # The URI Authlib sees is built on the configured issuer (https in production; a loopback
    # http URL in development, which Authlib accepts per RFC 8252).
    query = request.url.query
    uri = f"{settings.issuer_url}{request.url.path}" + (f"?{query}" if query else "")
    args = parse_qsl(query, keep_blank_values=True, max_num_fields=100)
    return StarletteOAuth2Request(
        method=request.method, uri=uri, headers=request.headers, args=args, form=form, payload_from=payload_from
    )


class TokenIssuer:
    """Access tokens as SPEC §6: RS256 JWT with ``kid``; opaque refresh tokens."""

    def __init__(self, keys: KeyStore, settings: Settings, clock: Clock, revocations: Any = None) -> None:
        self.keys = keys
        self.settings = settings
        self.clock = clock
        self.revocations = revocations

    def _issued_at(self, account: AccountInfo, client_id: str) -> int:
        """Now — or the cut-off of a revocation of this account or client made in this very second
        (cut-offs are whole seconds: a token signed just after a password change, a re-enabling
        or a new login after a suspension must not fall under it)."""
        now = int(self.clock.now().timestamp())
        if self.revocations is None:
            return now
        cutoffs = [
            entry[0]
            for entry in (self.revocations.subjects.get(str(account.id)), self.revocations.clients.get(client_id))
            if entry is not None
        ]
        return max([now, *(int(c) for c in cutoffs if c - now <= 2)])

    def claims_for(self, *, account: AccountInfo, client_id: str, scope: str) -> dict[str, Any]:
        now = self._issued_at(account, client_id)
        claims: dict[str, Any] = {
            "iss": self.settings.issuer_url,
            "sub": str(account.id),
            "aud": self.settings.audience,
            "iat": now,
            "nbf": now,
            "exp": now + self.settings.access_token_ttl_seconds,
            "jti": str(uuid.uuid4()),
            "scope": scope,
            "client_id": client_id,
            "role": account.role,
            "username": account.username,
        }
        if account.role == "bureau" and account.district:
            claims["district"] = account.district
        if account.role in ("agency", "enterprise"):
            if account.org_uscc:
                claims["org_uscc"] = account.org_uscc
            # SPEC §14: services refuse writes of an unverified organisation (fail-closed: a token
            # without it counts as unverified)
            claims["org_status"] = account.org_status or "none"
            if account.org_admin:  # the webhooks and invitations of an organisation are its admin's (SPEC §14, §15)
                claims["org_admin"] = True
        return claims

    def __call__(
        self,
        grant_type: str,
        client: OAuthClient,
        user: AccountInfo | None = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        account = user or client.account
        if account is None:
            raise UnauthorizedClientError("The client does not act as an account")
        granted = client.get_allowed_scope(scope)
        if not granted:
            raise InvalidScopeError()
        token = {
            "token_type": "Bearer",
            "access_token": self.keys.sign(self.claims_for(account=account, client_id=client.client_id, scope=granted)),
            "expires_in": self.settings.access_token_ttl_seconds,
            "scope": granted,
        }
        if include_refresh_token:
            token["refresh_token"] = new_secret()
        log.info(
            "gateway.token.issued",
            grant_type=grant_type,
            client_id=client.client_id,
            sub=str(account.id),
            role=account.role,
            scope=granted,
            refresh="refresh_token" in token,
        )
        return token


class AuthorizationServer(_AuthorizationServer):
    def __init__(self, *, store: OAuthStore, keys: KeyStore, settings: Settings, clock: Clock) -> None:
        super().__init__(scopes_supported=list(SCOPES))
        self.store = store
        self.keys = keys
        self.settings = settings
        self.register_token_generator("default", TokenIssuer(keys, settings, clock, store.revocations))
        self.register_grant(AuthorizationCodeGrant, [S256CodeChallenge(required=True)])
        self.register_grant(RefreshTokenGrant)
        self.register_grant(ClientCredentialsGrant)
        self.register_endpoint(RevocationEndpoint)
        self.register_endpoint(IntrospectionEndpoint)

    # --- Authlib hooks (run in the worker thread) ----------------------------------------
    def query_client(self, client_id: str) -> OAuthClient | None:
        return bridge(self.store.client, client_id)

    def save_token(self, token: dict[str, Any], request: StarletteOAuth2Request) -> None:
        refresh = token.get("refresh_token")
        if not refresh:
            return
        previous = request.refresh_token
        family_id = previous.family_id if previous is not None else uuid.uuid4()
        claims = unverified_claims(b"Bearer " + token["access_token"].encode()) or {}
        old = request.form.get("refresh_token") if previous is not None else None
        bridge(
            self.store.save_refresh,
            refresh,
            family_id=family_id,
            client_id=request.client.client_id,
            account_id=request.user.id,
            scope=token.get("scope", ""),
            access_jti=claims.get("jti"),
            access_exp=claims.get("exp"),
            previous=(previous.token_hash, old) if old else None,
            response=dict(token),
        )

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass

    def create_oauth2_request(self, request: StarletteOAuth2Request) -> StarletteOAuth2Request:
        return request

    def create_json_request(self, request: StarletteOAuth2Request) -> StarletteOAuth2Request:
        return request

    def handle_response(self, status: int, body: Any, headers: Any) -> tuple[int, Any, list[tuple[str, str]]]:
        return status, body, list(headers.items() if isinstance(headers, dict) else headers)

    # --- async entry points ----------------------------------------------------------------
    async def run(self, call: Callable[[], Any]) -> Any:
        return await anyio.to_thread.run_sync(call)

    @staticmethod
    def to_response(result: tuple[int, Any, list[tuple[str, str]]]) -> Response:
        status, body, headers = result
        header_map = dict(headers)
        if status in (301, 302, 303) and "Location" in header_map:
            return RedirectResponse(header_map["Location"], status_code=302, headers=NO_STORE)
        header_map.pop("Content-Type", None)
        header_map.update(NO_STORE)
        content = body if isinstance(body, (bytes, str)) else orjson.dumps(body)
        return Response(content, status_code=status, media_type="application/json", headers=header_map)


def new_csrf() -> str:
    return secrets.token_urlsafe(24)
