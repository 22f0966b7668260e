"""The portal's browser session: an encrypted, HttpOnly, SameSite=Lax cookie (docs/DECISIONS.md D22).

The cookie holds the person's access and refresh tokens (from the gateway's authorization code +
PKCE flow), who they are (role, district or organisation — for the menus only: every service
verifies the token itself) and the session's CSRF token. It is encrypted and authenticated with
Fernet (AES-128-CBC + HMAC-SHA256, ``cryptography``), so that neither a browser nor anybody who
reads a cookie jar learns a refresh token, and nobody can hand us a payload we did not write.
The key comes from ``CUSTODY_PORTAL_SESSION_SECRET``, else it is derived from the admin client
secret (the same on every portal replica), else it is random per process.

Refresh tokens rotate at every use and a reused one revokes its family (D7): two requests of one
browser that refresh at once would log the person out. ``Refresher`` makes that one refresh per
token in this process — the second request waits for and reuses the first one's answer.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SESSION_COOKIE = "custody_portal"
LOGIN_COOKIE = "custody_portal_login"
CSRF_COOKIE = "custody_portal_csrf"
LANG_COOKIE = "custody_lang"
MAX_COOKIE_BYTES = 4000
SESSION_SECONDS = 12 * 3600  # a working day; the refresh token itself lives 30 days
LOGIN_SECONDS = 600


def derive_key(explicit: str | None, admin_client_secret: str | None) -> bytes:
    """A Fernet key from the configured secret (HKDF-SHA256); random when none is configured."""
    material = explicit or admin_client_secret
    if not material:
        return Fernet.generate_key()
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"custody-portal", info=b"session-cookie v1").derive(
        material.encode()
    )
    return base64.urlsafe_b64encode(raw)


class Sealer:
    """Encrypts a JSON payload for one purpose (session, login) and opens it again."""

    def __init__(self, key: bytes) -> None:
        self.fernet = Fernet(key)

    def seal(self, payload: dict[str, Any], *, purpose: str) -> str:
        body = json.dumps({"p": purpose, "d": payload}, separators=(",", ":"), ensure_ascii=True).encode()
        return self.fernet.encrypt(body).decode("ascii")

    def open(self, value: str | None, *, purpose: str, max_age: int) -> dict[str, Any] | None:
        if not value or len(value) > 8192:
            return None
        try:
            body = json.loads(self.fernet.decrypt(value.encode("ascii"), ttl=max_age))
        except (InvalidToken, ValueError, UnicodeError, TypeError):
            return None
        if not isinstance(body, dict) or body.get("p") != purpose or not isinstance(body.get("d"), dict):
            return None
        payload: dict[str, Any] = body["d"]
        exp = payload.get("exp")
        if isinstance(exp, (int, float)) and exp < time.time():
            return None
        return payload


def pkce_pair() -> tuple[str, str]:
    """``(code_verifier, S256 code_challenge)``."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).decode().rstrip("=")
    return verifier, challenge


def new_token() -> str:
    return secrets.token_urlsafe(32)


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a).encode(), str(b).encode())


def jwt_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT just received from our own token endpoint (for the menus only)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return claims if isinstance(claims, dict) else {}
    except (IndexError, ValueError, UnicodeDecodeError):
        return {}


def session_from_tokens(
    tokens: dict[str, Any], *, csrf: str | None = None, started: float | None = None
) -> dict[str, Any]:
    claims = jwt_claims(tokens["access_token"])
    now = time.time()
    exp = claims.get("exp") or (now + float(tokens.get("expires_in") or 300))
    started = started or now
    return {
        "at": tokens["access_token"],
        "rt": tokens.get("refresh_token"),
        "at_exp": int(exp),
        "sub": claims.get("sub"),
        "role": claims.get("role"),
        "district": claims.get("district"),
        "org_uscc": claims.get("org_uscc"),
        "org_status": claims.get("org_status"),
        "org_admin": bool(claims.get("org_admin")),  # may own webhooks, invite members (SPEC §14, §15)
        "username": claims.get("username"),
        "scope": claims.get("scope"),
        "csrf": csrf or new_token(),
        "started": int(started),
        "exp": int(started + SESSION_SECONDS),
    }


@dataclass
class Refresher:
    """One refresh per refresh token in this process: concurrent requests share its answer, and a
    request that arrives shortly after still gets the rotated tokens instead of reusing the old one."""

    grace_seconds: float = 60.0
    _inflight: dict[str, asyncio.Future[dict[str, Any] | None]] = field(default_factory=dict)
    _done: dict[str, tuple[float, dict[str, Any] | None]] = field(default_factory=dict)

    async def refresh(
        self, refresh_token: str, call: Callable[[], Awaitable[dict[str, Any] | None]]
    ) -> dict[str, Any] | None:
        key = hashlib.sha256(refresh_token.encode()).hexdigest()
        now = time.monotonic()
        for old in [k for k, (at, _) in self._done.items() if now - at > self.grace_seconds]:
            self._done.pop(old, None)
        if key in self._done:
            return self._done[key][1]
        if key in self._inflight:
            return await asyncio.shield(self._inflight[key])
        future: asyncio.Future[dict[str, Any] | None] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            result = await call()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody else waited
            raise
        finally:
            self._inflight.pop(key, None)
        self._done[key] = (time.monotonic(), result)
        future.set_result(result)
        return result
