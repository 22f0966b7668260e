"""The authorization server in process: every grant, PKCE rules, refresh rotation and family
revocation, revocation, introspection, metadata and JWKS — on both backends where state is kept."""

from __future__ import annotations

import base64
import json

from shared.auth import TokenVerifier
from tests.gateway.helpers import (
    ADMIN_ID,
    ADMIN_SECRET,
    authorize_query,
    bearer,
    code_of,
    login,
    pkce,
    pkce_tokens,
    sign_up,
)


def claims_of(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def header_of(token: str) -> dict:
    part = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


async def test_metadata_and_jwks(sqlite_gateway):
    meta = (await sqlite_gateway.get("/.well-known/oauth-authorization-server")).json()
    assert meta["issuer"] == "http://127.0.0.1:8000"
    assert meta["token_endpoint"].endswith("/oauth/token")
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert set(meta["grant_types_supported"]) == {"authorization_code", "client_credentials", "refresh_token"}
    jwks = (await sqlite_gateway.get("/.well-known/jwks.json")).json()
    assert len(jwks["keys"]) == 1
    key = jwks["keys"][0]
    assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["kid"]
    assert "d" not in key and "p" not in key  # public parts only


async def test_client_credentials_token_verifies_with_shared_auth(sqlite_gateway):
    response = await sqlite_gateway.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(ADMIN_ID, ADMIN_SECRET)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer" and "refresh_token" not in body
    assert response.headers["cache-control"] == "no-store"
    token = body["access_token"]
    claims = claims_of(token)
    assert claims["aud"] == "custody-api" and claims["iss"] == "http://127.0.0.1:8000"
    assert claims["role"] == "admin" and "district" not in claims
    assert claims["exp"] - claims["iat"] <= 900 and claims["nbf"] <= claims["iat"]
    assert claims["scope"] == "custody.read custody.write" and claims["client_id"] == ADMIN_ID
    assert header_of(token)["kid"] and header_of(token)["alg"] == "RS256"
    jwks = (await sqlite_gateway.get("/.well-known/jwks.json")).json()
    principal = await TokenVerifier(issuer="http://127.0.0.1:8000", audience="custody-api", jwks=jwks).verify(token)
    assert principal.role == "admin" and principal.client_id == ADMIN_ID


async def test_client_secret_post_and_wrong_secret(sqlite_gateway):
    ok = await sqlite_gateway.post(
        "/oauth/token", data={"grant_type": "client_credentials", "client_id": ADMIN_ID, "client_secret": ADMIN_SECRET}
    )
    assert ok.status_code == 200
    bad = await sqlite_gateway.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(ADMIN_ID, "nope"))
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
    unknown = await sqlite_gateway.post("/oauth/token", data={"grant_type": "password"}, auth=(ADMIN_ID, ADMIN_SECRET))
    assert unknown.status_code == 400 and unknown.json()["error"] == "unsupported_grant_type"
    not_form = await sqlite_gateway.post("/oauth/token", json={"grant_type": "client_credentials"})
    assert not_form.status_code == 400 and not_form.json()["error"] == "invalid_request"


async def test_pkce_flow_with_login_form_refresh_rotation_and_family_revocation(backend):
    from shared.clock import FrozenClock
    from tests.gateway.conftest import gateway_settings, running_gateway

    clock = FrozenClock()
    async with running_gateway(gateway_settings(backend), clock) as gateway:
        await sign_up(gateway, "acme", "s3cret-password")
        tokens = await pkce_tokens(gateway, "acme", "s3cret-password")
        claims = claims_of(tokens["access_token"])
        assert claims["role"] == "enterprise" and claims["org_uscc"] and claims["username"] == "acme"
        assert claims["client_id"] == "custody-cli" and claims["org_status"] == "pending"
        first = tokens["refresh_token"]

        rotated = await gateway.post(
            "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": first, "client_id": "custody-cli"}
        )
        assert rotated.status_code == 200, rotated.text
        second = rotated.json()["refresh_token"]
        assert second != first

        latest_access = rotated.json()["access_token"]
        assert (await gateway.get("/api/v1/me", headers=bearer(latest_access))).status_code == 200
        clock.advance(seconds=6)  # past the grace a racing refresh gets (test_refresh_race.py)
        reused = await gateway.post(
            "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": first, "client_id": "custody-cli"}
        )
        assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
        # the reuse also revoked the family's live access tokens
        assert (await gateway.get("/api/v1/me", headers=bearer(latest_access))).status_code == 401
        assert (await gateway.get("/api/v1/me", headers=bearer(tokens["access_token"]))).status_code == 401
        # the reuse revoked the whole family: the newest token is dead too
        after = await gateway.post(
            "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": second, "client_id": "custody-cli"}
        )
        assert after.status_code == 400 and after.json()["error"] == "invalid_grant"


async def test_login_form_wrong_password_gives_message_and_no_code(sqlite_gateway):
    await sign_up(sqlite_gateway, "beta", "right-password")
    _, challenge = pkce()
    response = await login(sqlite_gateway, authorize_query(challenge), "beta", "wrong-password")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text
    assert "location" not in response.headers and "code=" not in response.text
    english = await login(sqlite_gateway, authorize_query(challenge, lang="en"), "beta", "wrong-password")
    assert "Wrong username or password" in english.text


async def test_login_page_is_zh_cn_and_needs_no_javascript(sqlite_gateway):
    _, challenge = pkce()
    page = await sqlite_gateway.get(f"/oauth/authorize?{authorize_query(challenge)}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "登录" in page.text and "<script" not in page.text
    assert 'name="username"' in page.text and 'name="password"' in page.text
    assert "lang=en" in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY" and page.headers["referrer-policy"] == "no-referrer"
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    en = await sqlite_gateway.get(f"/oauth/authorize?{authorize_query(challenge)}", headers={"Accept-Language": "en"})
    assert "Sign in" in en.text


async def test_login_without_csrf_is_refused(sqlite_gateway):
    await sign_up(sqlite_gateway, "gamma", "right-password")
    _, challenge = pkce()
    query = authorize_query(challenge)
    sqlite_gateway.cookies.clear()
    response = await sqlite_gateway.post(
        f"/oauth/authorize?{query}", data={"username": "gamma", "password": "right-password", "csrf": "forged"}
    )
    assert response.status_code == 400 and "location" not in response.headers


async def test_authorize_rejects_bad_requests_without_redirecting(sqlite_gateway):
    _, challenge = pkce()
    evil = await sqlite_gateway.get(
        f"/oauth/authorize?{authorize_query(challenge, redirect_uri='https://evil.example/cb')}"
    )
    assert evil.status_code == 400 and "location" not in evil.headers
    wrong_path = await sqlite_gateway.get(
        f"/oauth/authorize?{authorize_query(challenge, redirect_uri='http://127.0.0.1:9/other')}"
    )
    assert wrong_path.status_code == 400
    unknown_client = await sqlite_gateway.get(f"/oauth/authorize?{authorize_query(challenge, client_id='nobody')}")
    assert unknown_client.status_code == 400
    # a loopback redirect on any port is accepted (RFC 8252)
    other_port = await sqlite_gateway.get(
        f"/oauth/authorize?{authorize_query(challenge, redirect_uri='http://127.0.0.1:1234/callback')}"
    )
    assert other_port.status_code == 200


async def test_pkce_is_required_and_s256_only(gateway):
    await sign_up(gateway, "delta", "right-password")
    verifier, challenge = pkce()
    plain = await gateway.get("/oauth/authorize?" + authorize_query(challenge, code_challenge_method="plain"))
    assert plain.status_code == 302 and "error=invalid_request" in plain.headers["location"]
    query = authorize_query(challenge).replace("code_challenge=", "x=")
    missing = await gateway.get(f"/oauth/authorize?{query}")
    assert missing.status_code == 302 and "error=invalid_request" in missing.headers["location"]

    response = await login(gateway, authorize_query(challenge), "delta", "right-password")
    code, state = code_of(response)
    assert state == "st-1"
    wrong = await gateway.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "http://127.0.0.1:53682/callback",
            "client_id": "custody-cli",
            "code_verifier": "x" * 50,
        },
    )
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    # the code was spent by the failed attempt: it works once at most
    again = await gateway.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "http://127.0.0.1:53682/callback",
            "client_id": "custody-cli",
            "code_verifier": verifier,
        },
    )
    assert again.status_code == 400


async def test_code_redirect_uri_must_match_exactly_at_token_endpoint(sqlite_gateway):
    await sign_up(sqlite_gateway, "eps", "right-password")
    verifier, challenge = pkce()
    response = await login(
        sqlite_gateway,
        authorize_query(challenge, redirect_uri="http://127.0.0.1:4000/callback"),
        "eps",
        "right-password",
    )
    code, _ = code_of(response)
    other = await sqlite_gateway.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "http://127.0.0.1:4001/callback",
            "client_id": "custody-cli",
            "code_verifier": verifier,
        },
    )
    assert other.status_code == 400 and other.json()["error"] == "invalid_grant"


async def test_revocation_and_introspection(gateway):
    await sign_up(gateway, "zeta", "right-password")
    tokens = await pkce_tokens(gateway, "zeta", "right-password")
    access, refresh = tokens["access_token"], tokens["refresh_token"]
    admin = (ADMIN_ID, ADMIN_SECRET)

    active = (await gateway.post("/oauth/introspect", data={"token": access}, auth=admin)).json()
    assert active["active"] is True and active["username"] == "zeta" and active["scope"]
    refresh_info = (await gateway.post("/oauth/introspect", data={"token": refresh}, auth=admin)).json()
    assert refresh_info["active"] is True and refresh_info["token_type"] == "refresh_token"
    junk = (await gateway.post("/oauth/introspect", data={"token": "not-a-token"}, auth=admin)).json()
    assert junk == {"active": False}
    anonymous = await gateway.post("/oauth/introspect", data={"token": access})
    assert anonymous.status_code in (400, 401)

    revoked = await gateway.post("/oauth/revoke", data={"token": access, "client_id": "custody-cli"})
    assert revoked.status_code == 200
    assert (await gateway.post("/oauth/introspect", data={"token": access}, auth=admin)).json() == {"active": False}
    me = await gateway.get("/api/v1/me", headers=bearer(access))
    assert me.status_code == 401

    assert (await gateway.post("/oauth/revoke", data={"token": refresh, "client_id": "custody-cli"})).status_code == 200
    dead = await gateway.post(
        "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": refresh, "client_id": "custody-cli"}
    )
    assert dead.status_code == 400 and dead.json()["error"] == "invalid_grant"
    # revoking an unknown token is not an error (RFC 7009 §2.2)
    assert (
        await gateway.post("/oauth/revoke", data={"token": "whatever", "client_id": "custody-cli"})
    ).status_code == 200


async def test_concurrent_use_of_one_refresh_token_gets_one_pair_and_a_code_succeeds_once(gateway):
    import asyncio

    await sign_up(gateway, "racer", "right-password")
    tokens = await pkce_tokens(gateway, "racer", "right-password")
    attempts = await asyncio.gather(
        *(
            gateway.post(
                "/oauth/token",
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": tokens["refresh_token"],
                    "client_id": "custody-cli",
                },
            )
            for _ in range(5)
        )
    )
    # one rotation; the racing requests of the same client get the very same new pair
    assert [r.status_code for r in attempts] == [200] * 5, [r.text for r in attempts]
    assert len({r.json()["refresh_token"] for r in attempts}) == 1
    assert len({r.json()["access_token"] for r in attempts}) == 1

    verifier, challenge = pkce()
    code, _ = code_of(await login(gateway, authorize_query(challenge), "racer", "right-password"))
    exchanges = await asyncio.gather(
        *(
            gateway.post(
                "/oauth/token",
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": "http://127.0.0.1:53682/callback",
                    "client_id": "custody-cli",
                    "code_verifier": verifier,
                },
            )
            for _ in range(5)
        )
    )
    assert sorted(r.status_code for r in exchanges) == [200, 400, 400, 400, 400]


async def test_refresh_token_of_one_client_is_useless_to_another(sqlite_gateway):
    await sign_up(sqlite_gateway, "owner", "right-password")
    tokens = await pkce_tokens(sqlite_gateway, "owner", "right-password")
    stolen = await sqlite_gateway.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=(ADMIN_ID, ADMIN_SECRET),
    )
    assert stolen.status_code in (400, 401)
    assert stolen.json()["error"] in ("invalid_grant", "unauthorized_client")


async def test_a_client_cannot_introspect_or_revoke_another_clients_token(sqlite_gateway):
    from tests.gateway.helpers import admin_token

    await sign_up(sqlite_gateway, "nosy", "right-password")
    admin = bearer(await admin_token(sqlite_gateway))
    creds = (
        await sqlite_gateway.post("/api/v1/admin/clients", json={"username": "nosy", "name": "n"}, headers=admin)
    ).json()
    victim = await admin_token(sqlite_gateway)
    mine = (creds["client_id"], creds["client_secret"])
    assert (await sqlite_gateway.post("/oauth/introspect", data={"token": victim}, auth=mine)).json() == {
        "active": False
    }
    refused = await sqlite_gateway.post("/oauth/revoke", data={"token": victim}, auth=mine)
    assert refused.status_code == 400
    assert (await sqlite_gateway.get("/api/v1/me", headers=bearer(victim))).status_code == 200  # still valid
