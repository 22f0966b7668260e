"""Token hardening (SPEC §14 / issue #14 item 6–7): malformed tokens are 401 (never 500) in
``shared.auth``; the JWKS back-off is the 5 s DECISIONS D9 relies on, and a scheduled refresh drops
a retired key; the proxy's rate-limit key is a *verified* client_id; ``X-Forwarded-For`` counts only
from trusted proxies; private signing keys are encrypted at rest, and production refuses to start
without a key-encryption secret."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid

import pytest
from aiohttp import web
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from joserfc import jwt
from joserfc.jwk import RSAKey

from devtools.natsserver import free_port
from devtools.testing.tokens import TEST_AUDIENCE, TEST_ISSUER, make_token, signing_key, verifier
from gateway.addresses import client_address
from shared.auth import REFETCH_INTERVAL_SECONDS, TokenVerifier
from shared.errors import Unauthorized
from tests.gateway.conftest import gateway_settings, running_gateway
from tests.gateway.helpers import ADMIN_ID, ADMIN_SECRET, admin_token, bearer


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _signed_raw(payload: bytes, key: RSAKey | None = None) -> str:
    """A correctly signed token whose payload is any bytes (joserfc would not encode these)."""
    key = key or signing_key()
    header = _b64(json.dumps({"alg": "RS256", "kid": key.kid}).encode())
    body = _b64(payload)
    signature = key.raw_value.sign(f"{header}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{header}.{body}.{_b64(signature)}"


@pytest.mark.parametrize(
    ("name", "token"),
    [
        ("jti is a list", make_token("admin", jti=[])),
        ("jti is an object", make_token("admin", jti={"a": 1})),
        ("no jti", make_token("admin", jti=None)),
        ("sub is a number", make_token("admin", sub=12345)),
        ("client_id is a list", make_token("admin", client_id=["a"])),
        ("org_uscc is an object", make_token("agency", org_uscc={"x": 1})),
        ("scope is a list", make_token("admin", scope=["custody.read"])),
        ("iat is a string", make_token("admin", iat="now")),
        ("iat is a bool", make_token("admin", iat=True)),
        ("nbf is a list", make_token("admin", nbf=[1])),
        ("exp - iat over 15 minutes", make_token("admin", ttl=901)),
        ("deeply nested payload", _signed_raw(b"[" * 2500 + b"]" * 2500)),
        ("deeply nested object payload", _signed_raw(b'{"a":' * 1200 + b"1" + b"}" * 1200)),
        ("payload not an object", _signed_raw(b"[1, 2, 3]")),
        ("payload not JSON", _signed_raw(b"\xff\xfe not json")),
        ("deeply nested header", f"{_b64(b'[' * 1000 + b']' * 1000)}.e30.c2ln"),
        ("oversized token", make_token("admin", pad="x" * 9000)),
        ("kid is a list", f"{_b64(json.dumps({'alg': 'RS256', 'kid': ['test-key-1']}).encode())}.e30.c2ln"),
    ],
)
async def test_malformed_tokens_are_401(name, token):
    with pytest.raises(Unauthorized):
        await verifier().verify(token)


async def test_fifteen_minutes_exactly_is_still_fine():
    assert (await verifier().verify(make_token("admin", ttl=900))).role == "admin"


class JwksServer:
    """A JWKS endpoint that counts its requests (as the gateway's would be hit)."""

    def __init__(self, keys: list[RSAKey]) -> None:
        self.keys = keys
        self.hits = 0
        self.port = free_port()

    async def __aenter__(self) -> JwksServer:
        async def jwks(_: web.Request) -> web.Response:
            self.hits += 1
            return web.json_response({"keys": [k.as_dict(private=False) for k in self.keys]})

        app = web.Application()
        app.router.add_get("/jwks.json", jwks)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/jwks.json"


async def test_jwks_back_off_is_five_seconds_as_decisions_d9_says():
    from gateway.oauth.keys import ACTIVATION_DELAY

    assert REFETCH_INTERVAL_SECONDS == 5.0 and ACTIVATION_DELAY.total_seconds() > REFETCH_INTERVAL_SECONDS
    key = signing_key()
    async with JwksServer([key]) as server:
        v = TokenVerifier(issuer=TEST_ISSUER, audience=TEST_AUDIENCE, jwks_url=server.url, refresh_seconds=0)
        assert (await v.verify(make_token("admin"))).role == "admin"
        assert server.hits == 1
        strangers = [RSAKey.generate_key(2048, parameters={"kid": f"bogus-{i}"}, private=True) for i in range(3)]
        for stranger in strangers:  # a flood of unknown kids: at most one refetch per 5 s
            bogus = jwt.encode({"alg": "RS256", "kid": stranger.kid}, {"sub": "x"}, stranger)
            for _ in range(5):
                with pytest.raises(Unauthorized):
                    await v.verify(bogus)
        assert server.hits == 1


async def test_a_scheduled_refresh_drops_a_retired_key_and_the_tokens_it_signed():
    old = signing_key()
    new = RSAKey.generate_key(2048, parameters={"kid": "next-key", "alg": "RS256", "use": "sig"}, private=True)
    async with JwksServer([old, new]) as server:
        v = TokenVerifier(issuer=TEST_ISSUER, audience=TEST_AUDIENCE, jwks_url=server.url, refresh_seconds=0.2)
        await v.start()
        try:
            cached = make_token("admin")
            assert (await v.verify(cached)).role == "admin"
            server.keys = [new]  # the gateway retired the old key
            hits = server.hits
            await asyncio.sleep(0.6)
            assert server.hits > hits
            with pytest.raises(Unauthorized):
                await v.verify(cached)  # cached, but its key is gone
        finally:
            await v.stop()


def test_x_forwarded_for_counts_only_from_trusted_proxies():
    trusted = "127.0.0.1,10.0.0.0/8"
    assert client_address("203.0.113.9", ["1.2.3.4"], trusted) == "203.0.113.9"  # an untrusted peer's claim is ignored
    assert client_address("10.0.0.5", ["198.51.100.7"], trusted) == "198.51.100.7"
    # a client that forges the header through the proxy still gets its own address
    assert client_address("10.0.0.5", ["6.6.6.6, 198.51.100.7"], trusted) == "198.51.100.7"
    assert client_address("10.0.0.5", ["198.51.100.7, 10.0.0.9"], trusted) == "198.51.100.7"  # two proxies
    assert client_address("10.0.0.5", ["not-an-ip"], trusted) == "10.0.0.5"
    assert client_address("10.0.0.5", [], trusted) == "10.0.0.5"
    assert client_address("127.0.0.1", ["2001:db8::1"], trusted) == "2001:db8::1"
    assert client_address("10.0.0.5", ["1.2.3.4"], "") == "10.0.0.5"  # nothing trusted


async def test_the_proxy_rate_limit_key_is_a_verified_client_id(sqlite_backend):
    """Forged tokens naming the victim's client_id do not drain the victim's bucket; behind a trusted
    proxy, clients do not share one address bucket."""
    settings = gateway_settings(
        sqlite_backend, proxy_rate_burst=3, proxy_rate_per_second=0.01, trusted_proxies="10.1.2.3"
    )
    async with running_gateway(settings) as gw:
        victim = await admin_token(gw)
        forged = make_token("admin", client_id=ADMIN_ID)  # signed by a key the gateway does not know
        for i in range(10):
            r = await gw.get("/api/v1/policy", headers={**bearer(forged), "X-Forwarded-For": f"198.51.100.{i % 2}"})
            assert r.status_code != 429, i  # keyed on addresses 198.51.100.0/1, not on the forged client
        statuses = [
            (
                await gw.get("/api/v1/policy", headers={**bearer(victim), "X-Forwarded-For": f"203.0.113.{i}"})
            ).status_code
            for i in range(4)
        ]
        assert statuses[:3] != [429, 429, 429] and 429 not in statuses[:3]  # the victim's own bucket is intact
        assert statuses[3] == 429  # …and it is the victim's (verified) client that is limited
        # anonymous callers behind the trusted proxy: one bucket per real client address
        anon = [
            (await gw.get("/api/v1/policy", headers={"X-Forwarded-For": f"192.0.2.{i}"})).status_code for i in range(20)
        ]
        assert 429 not in anon


async def test_private_signing_keys_are_encrypted_at_rest_and_the_secret_can_be_rotated(sqlite_backend):
    import sqlalchemy as sa

    from gateway.models import SigningKey

    settings = gateway_settings(sqlite_backend, key_encryption_key="first-secret-" + "x" * 30)
    async with running_gateway(settings) as gw:
        token = await admin_token(gw)
        async with gw.app.state.gw.db.reader() as session:
            stored = (await session.execute(sa.select(SigningKey.private_jwk))).scalars().all()
        assert stored and all(s.startswith("enc:v1:") and '"d"' not in s for s in stored)
    rotated = settings.model_copy(
        update={"key_encryption_key": "second-secret-" + "y" * 30 + ",first-secret-" + "x" * 30}
    )
    async with running_gateway(rotated) as gw:
        assert (await gw.get("/api/v1/me", headers=bearer(token))).status_code == 200  # the same key still verifies
        async with gw.app.state.gw.db.reader() as session:
            again = (await session.execute(sa.select(SigningKey.private_jwk))).scalars().all()
        assert set(again).isdisjoint(stored)  # re-encrypted with the new secret
    from gateway.oauth.keys import StartupRefused

    lost = settings.model_copy(update={"key_encryption_key": "an-unrelated-secret-" + "z" * 30})
    from gateway.main import create_app

    app = create_app(lost)
    with pytest.raises(StartupRefused):
        async with app.router.lifespan_context(app):
            pass
    await app.state.gw.db.dispose()


@pytest.mark.parametrize("secret", [None, "", "short", "custody-dev-key-encryption-key-change-me"])
def test_production_refuses_to_start_without_a_key_encryption_secret(tmp_path, secret):
    from gateway.main import create_app
    from gateway.oauth.keys import StartupRefused
    from shared.settings import Settings

    settings = Settings(
        _env_file=None,
        env="production",
        data_dir=tmp_path,
        admin_client_id=ADMIN_ID,
        admin_client_secret=ADMIN_SECRET,
        key_encryption_key=secret,
    )
    with pytest.raises(StartupRefused, match="KEY_ENCRYPTION_KEY"):
        create_app(settings)
    ok = settings.model_copy(update={"key_encryption_key": "a-real-production-secret-of-40-chars-long"})
    create_app(ok)  # refused later only for its development signing key, not for this


async def test_revoked_tokens_with_odd_claims_never_break_the_gateway(sqlite_gateway):
    """The proxy and the gateway's own routes verify tokens with typed claims: a token whose jti is
    a list used to raise TypeError (unhashable) in the revoked-token check."""
    gw = sqlite_gateway.app.state.gw
    now = int(time.time())
    claims = {
        "iss": gw.settings.issuer_url,
        "aud": gw.settings.audience,
        "sub": str(uuid.uuid4()),
        "iat": now,
        "exp": now + 600,
        "scope": "custody.read custody.write",
        "client_id": ADMIN_ID,
        "role": "admin",
    }
    for odd in ({"jti": []}, {"jti": {"a": 1}}, {"jti": 7}, {"sub": ["x"], "jti": "j"}, {"client_id": [1], "jti": "j"}):
        token = gw.keys.sign({**claims, **odd})
        for path in ("/api/v1/me", "/api/v1/policy", "/api/v1/admin/dlq?service=registry"):
            r = await sqlite_gateway.get(path, headers=bearer(token))
            assert r.status_code in (401, 503), (odd, path, r.status_code, r.text)
