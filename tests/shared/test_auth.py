"""Every service verifies tokens itself: forged, expired, misdirected and downgraded tokens are
refused with 401 (+ WWW-Authenticate), and scopes decide reads and writes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from devtools.testing.tokens import TEST_AUDIENCE, TEST_ISSUER, jwks, make_token, signing_key, verifier
from shared.auth import TokenVerifier
from shared.errors import Unauthorized


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


async def test_a_good_token_gives_a_principal():
    principal = await verifier().verify(make_token("bureau", district="440703", sub="acct-1"))
    assert principal.role == "bureau" and principal.district == "440703" and principal.subject == "acct-1"
    assert principal.governs("440703") and not principal.governs("440704")


def hs256(claims: dict, secret: bytes) -> str:
    """The classic key-confusion attack: HMAC-sign with the published RSA public key."""
    signing_input = f"{b64({'alg': 'HS256', 'typ': 'JWT', 'kid': 'test-key-1'})}.{b64(claims)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"


def forged_tokens() -> dict[str, str]:
    now = int(time.time())
    good = make_token("agency", org_uscc="91440703MA00000018")
    header, payload, sig = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    tampered = b64({**claims, "role": "admin"})
    other_key = RSAKey.generate_key(2048, parameters={"kid": "test-key-1"}, private=True)
    public_pem = signing_key().as_pem(private=False)
    base_claims = {
        "iss": TEST_ISSUER,
        "aud": TEST_AUDIENCE,
        "sub": "x",
        "role": "admin",
        "scope": "custody.read custody.write",
        "iat": now,
        "exp": now + 600,
    }
    return {
        "expired": make_token("admin", ttl=-120),
        "not_yet_valid": make_token("admin", nbf=now + 3600),
        "wrong_audience": make_token("admin", aud="someone-else"),
        "wrong_issuer": make_token("admin", iss="http://evil.example"),
        "alg_none": f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': 'test-key-1'})}.{b64(base_claims)}.",
        "unknown_kid": jwt.encode({"alg": "RS256", "kid": "nobody"}, base_claims, other_key),
        "signed_by_another_key": jwt.encode({"alg": "RS256", "kid": "test-key-1"}, base_claims, other_key),
        "hs256_with_public_key": hs256(base_claims, public_pem),
        "tampered_payload": f"{header}.{tampered}.{sig}",
        "garbage": "not-a-token",
        "unknown_role": make_token("superuser"),
    }


@pytest.mark.parametrize("name", sorted(forged_tokens()))
async def test_forged_or_invalid_tokens_are_refused(name):
    with pytest.raises(Unauthorized):
        await verifier().verify(forged_tokens()[name])


async def test_unknown_kid_refetches_the_jwks_at_most_once_per_window(monkeypatch):
    fetches = []
    v = TokenVerifier(
        issuer=TEST_ISSUER, audience=TEST_AUDIENCE, jwks_url="http://127.0.0.1:9/jwks.json", refetch_interval=0
    )

    class Response:
        def raise_for_status(self):
            return None

        def json(self):
            return jwks()

    class Client:
        def __init__(self, *a, **kw):
            pass

        async def __aenter__(self):
            return self

        async def __aexit__(self, *exc):
            return False

        async def get(self, url):
            fetches.append(url)
            return Response()

    monkeypatch.setattr("shared.auth.httpx.AsyncClient", Client)
    assert (await v.verify(make_token("admin"))).is_admin
    assert len(fetches) == 1  # first use
    other_key = RSAKey.generate_key(2048, parameters={"kid": "rotated-away"}, private=True)
    stranger = jwt.encode(
        {"alg": "RS256", "kid": "rotated-away"},
        {"iss": TEST_ISSUER, "aud": TEST_AUDIENCE, "sub": "s", "role": "admin", "exp": int(time.time()) + 60},
        other_key,
    )
    for _ in range(5):
        with pytest.raises(Unauthorized):
            await v.verify(stranger)
    assert len(fetches) == 2  # one refetch for the unknown kid, not one per request
