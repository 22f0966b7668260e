"""A signing key and a token factory for tests: services under test verify tokens against
``TEST_JWKS`` exactly as they would against the gateway's JWKS."""

from __future__ import annotations

import time
import uuid
from functools import lru_cache
from typing import Any

from joserfc import jwt
from joserfc.jwk import RSAKey

from shared.auth import TokenVerifier

TEST_ISSUER = "http://127.0.0.1:8000"
TEST_AUDIENCE = "custody-api"


@lru_cache(maxsize=1)
def signing_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "test-key-1", "alg": "RS256", "use": "sig"}, private=True)


def jwks() -> dict[str, Any]:
    return {"keys": [signing_key().as_dict(private=False)]}


def verifier() -> TokenVerifier:
    return TokenVerifier(issuer=TEST_ISSUER, audience=TEST_AUDIENCE, jwks=jwks())


def make_token(
    role: str = "admin",
    *,
    sub: str | None = None,
    district: str | None = None,
    org_uscc: str | None = None,
    scope: str = "custody.read custody.write",
    ttl: int = 600,
    username: str | None = None,
    org_status: str | None = "verified",
    org_admin: bool = True,
    **overrides: Any,
) -> str:
    """A token as the gateway would issue it; agency and enterprise tokens carry ``org_status``
    (``verified`` unless told otherwise: SPEC §14) and ``org_admin`` (the account administers its
    organisation, as its first account does, unless told otherwise)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": TEST_ISSUER,
        "aud": TEST_AUDIENCE,
        "sub": sub or str(uuid.uuid4()),
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
        "jti": str(uuid.uuid4()),
        "scope": scope,
        "client_id": "test-client",
        "role": role,
        "username": username or f"{role}-user",
    }
    if district:
        claims["district"] = district
    if org_uscc:
        claims["org_uscc"] = org_uscc
    if role in ("agency", "enterprise") and org_status is not None:
        claims["org_status"] = org_status
    if role in ("agency", "enterprise") and org_admin:
        claims["org_admin"] = True
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    key = signing_key()
    return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)


def auth(role: str = "admin", **kw: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(role, **kw)}"}
