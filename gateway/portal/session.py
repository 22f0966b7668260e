"""The portal's browser session: a signed (HMAC-SHA256), HttpOnly, SameSite=Lax cookie.

The cookie holds the bureau's access token (and refresh token) obtained through the gateway's own
OAuth2 authorization-code + PKCE flow. Signing keeps a browser from handing us a payload we did not
write; it grants nothing by itself, since every service verifies the token inside. ``itsdangerous``
is not a dependency, so the signature is plain ``hmac``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from typing import Any

SESSION_COOKIE = "custody_portal"
LOGIN_COOKIE = "custody_portal_login"
LANG_COOKIE = "custody_lang"
MAX_COOKIE_BYTES = 3900


def derive_secret(admin_client_secret: str | None) -> bytes:
    """``CUSTODY_PORTAL_SESSION_SECRET`` if set; else derived from the admin client secret (shared by
    every gateway replica); else random per process (sessions end when the gateway restarts)."""
    explicit = os.environ.get("CUSTODY_PORTAL_SESSION_SECRET")
    if explicit:
        return hashlib.sha256(b"custody-portal-session\x00" + explicit.encode()).digest()
    if admin_client_secret:
        return hmac.new(admin_client_secret.encode(), b"custody-portal-session", hashlib.sha256).digest()
    return secrets.token_bytes(32)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(data: str) -> bytes:
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


def sign(payload: dict[str, Any], secret: bytes, *, purpose: str) -> str:
    body = _b64(json.dumps(payload, separators=(",", ":"), ensure_ascii=True).encode())
    mac = hmac.new(secret, f"{purpose}.{body}".encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


def unsign(value: str | None, secret: bytes, *, purpose: str) -> dict[str, Any] | None:
    """The payload of a cookie we signed and that has not expired (``exp``), else ``None``."""
    if not value or value.count(".") != 1 or len(value) > 8192:
        return None
    body, mac = value.split(".")
    expected = hmac.new(secret, f"{purpose}.{body}".encode(), hashlib.sha256).digest()
    try:
        if not hmac.compare_digest(_unb64(mac), expected):
            return None
        payload = json.loads(_unb64(body))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(payload, dict):
        return None
    exp = payload.get("exp")
    if isinstance(exp, (int, float)) and exp < time.time():
        return None
    return payload


def pkce_pair() -> tuple[str, str]:
    """``(code_verifier, S256 code_challenge)``."""
    verifier = secrets.token_urlsafe(48)
    challenge = _b64(hashlib.sha256(verifier.encode("ascii")).digest())
    return verifier, challenge


def jwt_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT we just received from our own token endpoint (display only; every
    service verifies the signature itself)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(_unb64(payload))
        return claims if isinstance(claims, dict) else {}
    except (IndexError, ValueError, UnicodeDecodeError):
        return {}
