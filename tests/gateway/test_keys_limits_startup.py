"""Key rotation (live tokens keep verifying; the old key leaves the JWKS only after its tokens
expired; keys survive restarts), rate limits (429 + Retry-After), production start-up refusals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from joserfc.jwk import RSAKey

from gateway.main import create_app
from gateway.oauth.keys import StartupRefused
from shared.auth import TokenVerifier
from shared.clock import FrozenClock
from shared.settings import DEV_ADMIN_CLIENT_ID, DEV_ADMIN_CLIENT_SECRET
from tests.gateway.conftest import gateway_settings, running_gateway
from tests.gateway.helpers import ADMIN_ID, ADMIN_SECRET, admin_token, bearer, sign_up
from tests.gateway.test_oauth import header_of


async def _verify(client, token):
    jwks = (await client.get("/.well-known/jwks.json")).json()
    return await TokenVerifier(issuer="http://127.0.0.1:8000", audience="custody-api", jwks=jwks).verify(token)


async def test_rotation_keeps_live_tokens_valid_and_survives_restart(backend):
    clock = FrozenClock()
    settings = gateway_settings(backend)
    async with running_gateway(settings, clock) as gw:
        old_token = await admin_token(gw)
        old_kid = header_of(old_token)["kid"]
        rotated = await gw.post("/api/v1/admin/keys/rotate", headers=bearer(old_token))
        assert rotated.status_code == 200, rotated.text
        new_kid = rotated.json()["new_kid"]
        kids = {k["kid"] for k in (await gw.get("/.well-known/jwks.json")).json()["keys"]}
        assert kids == {old_kid, new_kid}  # published before it signs
        assert header_of(await admin_token(gw))["kid"] == old_kid
        clock.advance(seconds=7)
        fresh = await admin_token(gw)
        assert header_of(fresh)["kid"] == new_kid
        # the old token still verifies against the published keys
        assert (await _verify(gw, old_token)).role == "admin"
        assert (await gw.get("/api/v1/me", headers=bearer(old_token))).status_code == 200
    async with running_gateway(settings, clock) as gw:  # a restart keeps both keys
        assert header_of(await admin_token(gw))["kid"] == new_kid
        kids = {k["kid"] for k in (await gw.get("/.well-known/jwks.json")).json()["keys"]}
        assert kids == {old_kid, new_kid}
        clock.advance(seconds=settings.access_token_ttl_seconds + 61)
        await gw.app.state.gw.keys.load()
        kids = {k["kid"] for k in (await gw.get("/.well-known/jwks.json")).json()["keys"]}
        assert kids == {new_kid}  # every token of the old key has expired: it leaves the JWKS


async def test_rotation_is_admin_only(sqlite_gateway):
    await sign_up(sqlite_gateway, "plain-user")
    from tests.gateway.helpers import pkce_tokens

    tokens = await pkce_tokens(sqlite_gateway, "plain-user", "correct horse battery")
    response = await sqlite_gateway.post("/api/v1/admin/keys/rotate", headers=bearer(tokens["access_token"]))
    assert response.status_code == 403


async def test_token_endpoint_rate_limited_per_account(sqlite_backend):
    settings = gateway_settings(sqlite_backend, auth_rate_limit=3, auth_rate_window_seconds=60)
    async with running_gateway(settings) as gw:
        statuses = []
        for _ in range(4):
            r = await gw.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(ADMIN_ID, "wrong"))
            statuses.append(r.status_code)
        assert statuses[:3] == [401, 401, 401] and statuses[3] == 429
        assert int(r.headers["retry-after"]) >= 1 and r.json()["error"] == "rate_limited"
        # another account from the same address is not affected yet
        assert (
            await gw.post(
                "/oauth/token", data={"grant_type": "client_credentials", "client_id": "other", "client_secret": "x"}
            )
        ).status_code == 400


async def test_login_rate_limited_per_address(sqlite_backend):
    from tests.gateway.helpers import authorize_query, login, pkce

    settings = gateway_settings(sqlite_backend, auth_rate_limit=1, auth_rate_window_seconds=60)
    async with running_gateway(settings) as gw:
        _, challenge = pkce()
        query = authorize_query(challenge)
        statuses = [(await login(gw, query, f"user{i}", "whatever-pw")).status_code for i in range(4)]
        assert statuses[:3] == [401] * 3 and statuses[3] == 429  # failures: 3 × the per-account limit per address
        limited = await login(gw, query, "user-x", "whatever-pw")
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        assert "尝试次数过多" in limited.text


def test_production_refuses_default_admin_secret(tmp_path):
    from shared.settings import Settings

    settings = Settings(
        _env_file=None,
        env="production",
        data_dir=tmp_path,
        admin_client_id=DEV_ADMIN_CLIENT_ID,
        admin_client_secret=DEV_ADMIN_CLIENT_SECRET,
    )
    with pytest.raises(StartupRefused):
        create_app(settings)
    short = settings.model_copy(update={"admin_client_secret": "short"})
    with pytest.raises(StartupRefused):
        create_app(short)


async def test_production_refuses_development_signing_key_but_takes_a_key_file(sqlite_backend, tmp_path):
    dev = gateway_settings(sqlite_backend)
    async with running_gateway(dev):
        pass  # leaves a development key in the database
    prod = dev.model_copy(update={"env": "production", "key_encryption_key": "k" * 40})
    app = create_app(prod)
    with pytest.raises(StartupRefused):
        async with app.router.lifespan_context(app):
            pass
    await app.state.gw.db.dispose()
    key_file = tmp_path / "signing.pem"
    key_file.write_bytes(RSAKey.generate_key(2048, private=True).as_pem(private=True))
    with_file = prod.model_copy(update={"signing_key_file": key_file})
    async with running_gateway(with_file) as gw:
        token = await gw.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(ADMIN_ID, ADMIN_SECRET))
        assert token.status_code == 200
        kid = header_of(token.json()["access_token"])["kid"]
        assert kid == RSAKey.import_key(key_file.read_bytes()).thumbprint()
    bad_file = tmp_path / "bad.pem"
    bad_file.write_text("not a key")
    app = create_app(prod.model_copy(update={"signing_key_file": bad_file}))
    with pytest.raises(StartupRefused):
        async with app.router.lifespan_context(app):
            pass
    await app.state.gw.db.dispose()


def test_rotation_delay_exceeds_the_verifier_refetch_interval():
    from gateway.oauth.keys import ACTIVATION_DELAY

    assert timedelta(seconds=5) < ACTIVATION_DELAY
