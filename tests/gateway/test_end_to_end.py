"""Through the real gateway process and real service processes (uvicorn, HTTP, NATS): every grant
end to end, tokens that must get 401 at a service even when sent straight to it, read-only
clients, revocation, key rotation, rate limits, body limits, request ids, problem pass-through and
a stopped service."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from devtools.testing.wait import eventually
from tests.conftest import Backend
from tests.gateway.helpers import (
    ADMIN_ID,
    ADMIN_SECRET,
    OTHER_USCC,
    authorize_query,
    bearer,
    code_of,
    login,
    pkce,
    sign_up,
)
from tests.gateway.processes import Processes
from tests.gateway.test_oauth import claims_of, header_of

DLQ = "/api/v1/admin/dlq"


@pytest.fixture(scope="module")
async def platform(tmp_path_factory, embedded_nats):
    workdir = tmp_path_factory.mktemp("gateway-e2e")
    backend = Backend("sqlite", workdir, embedded_nats.url)
    procs = Processes(
        backend.settings(
            auth_rate_limit=20, auth_rate_window_seconds=60, proxy_rate_burst=40, proxy_rate_per_second=10
        ),
        workdir,
    )
    await asyncio.to_thread(procs.start)
    try:
        yield procs
    finally:
        await asyncio.to_thread(procs.stop)
        await backend.cleanup()


@pytest.fixture
async def gw(platform):
    async with httpx.AsyncClient(base_url=platform.url, timeout=10) as client:
        yield client


async def _admin(gw: httpx.AsyncClient, scope: str | None = None) -> str:
    data = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
    r = await gw.post("/oauth/token", data=data, auth=(ADMIN_ID, ADMIN_SECRET))
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


async def test_client_credentials_through_the_proxy_and_straight_to_the_service(platform, gw):
    token = await _admin(gw)
    through = await gw.get(DLQ, params={"service": "registry"}, headers={**bearer(token), "X-Request-ID": "e2e-req-1"})
    assert through.status_code == 200, through.text
    assert through.json()["service"] == "registry"
    assert through.headers["x-request-id"] == "e2e-req-1"
    async with httpx.AsyncClient(base_url=platform.url_of("registry")) as direct:
        assert (await direct.get(DLQ, headers=bearer(token))).status_code == 200
    audit = await gw.get(DLQ, params={"service": "audit"}, headers=bearer(token))
    assert audit.status_code == 200 and audit.json()["service"] == "audit"


async def test_pkce_flow_with_login_form_and_refresh_end_to_end(gw):
    await sign_up(gw, "e2e-ent", "e2e-password-1", org_uscc=OTHER_USCC)
    verifier, challenge = pkce()
    redirect = "http://127.0.0.1:61234/callback"
    response = await login(gw, authorize_query(challenge, redirect_uri=redirect), "e2e-ent", "e2e-password-1")
    code, state = code_of(response)
    assert state == "st-1"
    token = await gw.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect,
            "client_id": "custody-cli",
            "code_verifier": verifier,
        },
    )
    assert token.status_code == 200, token.text
    body = token.json()
    assert claims_of(body["access_token"])["org_uscc"] == OTHER_USCC
    me = await gw.get("/api/v1/me", headers=bearer(body["access_token"]))
    assert me.json()["username"] == "e2e-ent"
    # an enterprise token is verified by the service and refused there (role), not at the gateway
    forbidden = await gw.get(DLQ, params={"service": "registry"}, headers=bearer(body["access_token"]))
    assert forbidden.status_code == 403 and forbidden.headers["content-type"] == "application/problem+json"
    refreshed = await gw.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "client_id": "custody-cli", "refresh_token": body["refresh_token"]},
    )
    assert refreshed.status_code == 200 and refreshed.json()["refresh_token"] != body["refresh_token"]
    # a double-click: the same client refreshing the same token at once gets the same new pair
    again = await gw.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "client_id": "custody-cli", "refresh_token": body["refresh_token"]},
    )
    assert again.status_code == 200 and again.json() == refreshed.json()
    await asyncio.sleep(1.2)  # the platform's refresh_grace_seconds is 1 s
    reuse = await gw.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "client_id": "custody-cli", "refresh_token": body["refresh_token"]},
    )
    assert reuse.status_code == 400
    family = await gw.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "client_id": "custody-cli",
            "refresh_token": refreshed.json()["refresh_token"],
        },
    )
    assert family.status_code == 400 and family.json()["error"] == "invalid_grant"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


NESTED = b"[" * 2500 + b"]" * 2500  # deeper than json's recursion limit, small enough to pass the size check


def _bad_tokens(platform: Processes, good: str) -> dict[str, str]:
    key = RSAKey.import_key(platform.key.as_dict(private=True))
    kid = header_of(good)["kid"]
    base = claims_of(good)
    now = int(time.time())

    def signed(**changes):
        claims = {**base, "jti": str(uuid.uuid4()), **changes}
        return jwt.encode({"alg": "RS256", "kid": kid}, claims, key)

    header, payload, signature = good.split(".")
    tampered = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    tampered["scope"] = "custody.read custody.write"
    tampered["username"] = "someone-else"
    public_pem = key.as_pem(private=False)
    hs_header = _b64(json.dumps({"alg": "HS256", "kid": kid}).encode())
    hs_payload = _b64(json.dumps({**base, "jti": str(uuid.uuid4())}).encode())
    import hashlib
    import hmac

    hs_sig = _b64(hmac.new(public_pem, f"{hs_header}.{hs_payload}".encode(), hashlib.sha256).digest())
    stranger = RSAKey.generate_key(2048, parameters={"kid": "not-a-published-kid"}, private=True)
    return {
        "expired": signed(iat=now - 3600, nbf=now - 3600, exp=now - 1800),
        "not yet valid": signed(nbf=now + 600, exp=now + 900),
        "wrong aud": signed(aud="another-api"),
        "wrong iss": signed(iss="https://evil.example"),
        "alg none": f"{_b64(json.dumps({'alg': 'none', 'kid': kid}).encode())}.{payload}.",
        "unknown kid": jwt.encode({"alg": "RS256", "kid": "not-a-published-kid"}, {**base, "jti": "x"}, stranger),
        "HS256 with the public key": f"{hs_header}.{hs_payload}.{hs_sig}",
        "tampered payload": f"{header}.{_b64(json.dumps(tampered).encode())}.{signature}",
        # malformed claims in a correctly signed token (SPEC §14 hardening: 401, never 500)
        "jti is a list": signed(jti=[]),
        "jti missing": jwt.encode({"alg": "RS256", "kid": kid}, {k: v for k, v in base.items() if k != "jti"}, key),
        "sub is an object": signed(sub={"id": "x"}),
        "org_status is a list": signed(org_status=["verified"]),
        "iat is a string": signed(iat="yesterday"),
        "lives longer than 15 minutes": signed(iat=now, nbf=now, exp=now + 3600),
        "deeply nested payload": f"{header}.{_b64(NESTED)}.{signature}",
        "deeply nested header": f"{_b64(NESTED)}.{payload}.{signature}",
        "oversized token": f"{header}.{_b64(json.dumps({**base, 'pad': 'x' * 9000}).encode())}.{signature}",
    }


async def test_bad_tokens_get_401_at_the_service_even_straight(platform, gw):
    good = await _admin(gw, scope="custody.read")
    bad = _bad_tokens(platform, good)
    async with httpx.AsyncClient(base_url=platform.url_of("registry")) as direct:
        assert (await direct.get(DLQ, headers=bearer(good))).status_code == 200
        for name, token in bad.items():
            straight = await direct.get(DLQ, headers=bearer(token))
            assert straight.status_code == 401, (name, straight.text)
            assert straight.headers["www-authenticate"].startswith("Bearer")
            proxied = await gw.get(DLQ, params={"service": "registry"}, headers=bearer(token))
            assert proxied.status_code == 401, (name, proxied.text)
            own = await gw.get("/api/v1/me", headers=bearer(token))  # the gateway's own routes too
            assert own.status_code == 401, (name, own.text)
        # a header far beyond any token: refused by the HTTP server or as a token, never a 5xx
        huge = "Bearer " + "A" * 100_000
        for client, url in ((direct, DLQ), (gw, f"{DLQ}?service=registry")):
            try:
                r = await client.get(url, headers={"Authorization": huge})
            except httpx.HTTPError:
                continue  # the server closed the connection: no 500 either
            assert r.status_code in (400, 401, 413, 431), r.status_code


async def test_a_revoked_signing_key_is_dropped_by_a_service_reached_directly(platform, gw):
    """Rotate, then revoke the retired key: the key.revoked event makes the registry refetch the
    JWKS at once, so a token the registry had verified and cached with the old key is refused."""
    old = await _admin(gw)
    old_kid = header_of(old)["kid"]
    async with httpx.AsyncClient(base_url=platform.url_of("registry")) as direct:
        assert (await direct.get(DLQ, headers=bearer(old))).status_code == 200  # verified and cached
        rotated = await gw.post("/api/v1/admin/keys/rotate", headers=bearer(old))
        new_kid = rotated.json()["new_kid"]
        in_use = await gw.post(f"/api/v1/admin/keys/{new_kid}/revoke", headers=bearer(old))
        assert in_use.status_code == 409  # the key about to sign cannot be revoked

        async def fresh():
            token = await _admin(gw)
            return token if header_of(token)["kid"] == new_kid else None

        new = await eventually(fresh, timeout=15, interval=0.5)
        revoked = await gw.post(f"/api/v1/admin/keys/{old_kid}/revoke", headers=bearer(new))
        assert revoked.status_code == 200, revoked.text
        assert old_kid not in {k["kid"] for k in (await gw.get("/.well-known/jwks.json")).json()["keys"]}
        started = time.monotonic()

        async def dropped():
            return (await direct.get(DLQ, headers=bearer(old))).status_code == 401

        await eventually(dropped, timeout=5, interval=0.1)
        assert time.monotonic() - started < 5
        assert (await direct.get(DLQ, headers=bearer(new))).status_code == 200


async def test_read_only_client_gets_403_on_writes(gw):
    admin = bearer(await _admin(gw))
    created = await gw.post(
        "/api/v1/admin/clients", json={"username": ADMIN_ID, "name": "ro", "scopes": "custody.read"}, headers=admin
    )
    assert created.status_code == 201
    creds = created.json()
    token = await gw.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(creds["client_id"], creds["client_secret"])
    )
    ro = bearer(token.json()["access_token"])
    assert (await gw.get(DLQ, params={"service": "registry"}, headers=ro)).status_code == 200
    write = await gw.post(f"{DLQ}/{uuid.uuid4()}/replay", params={"service": "registry"}, headers=ro)
    assert write.status_code == 403, write.text
    assert write.json()["code"] == "insufficient_scope"
    rw = await gw.post(f"{DLQ}/{uuid.uuid4()}/replay", params={"service": "registry"}, headers=admin)
    assert rw.status_code == 404  # allowed to write; there is just no such dead letter


async def test_revoked_token_is_refused_and_introspection_says_inactive(gw):
    token = await _admin(gw)
    info = (await gw.post("/oauth/introspect", data={"token": token}, auth=(ADMIN_ID, ADMIN_SECRET))).json()
    assert info["active"] is True and info["role"] == "admin" and info["client_id"] == ADMIN_ID
    assert (await gw.post("/oauth/revoke", data={"token": token}, auth=(ADMIN_ID, ADMIN_SECRET))).status_code == 200
    refused = await gw.get(DLQ, params={"service": "registry"}, headers=bearer(token))
    assert refused.status_code == 401 and refused.json()["code"] == "token_revoked"
    info = (await gw.post("/oauth/introspect", data={"token": token}, auth=(ADMIN_ID, ADMIN_SECRET))).json()
    assert info == {"active": False}


async def test_key_rotation_does_not_break_live_tokens(platform, gw):
    old = await _admin(gw)
    async with httpx.AsyncClient(base_url=platform.url_of("registry")) as direct:
        assert (await direct.get(DLQ, headers=bearer(old))).status_code == 200  # the service cached the JWKS
        rotated = await gw.post("/api/v1/admin/keys/rotate", headers=bearer(old))
        assert rotated.status_code == 200
        new_kid = rotated.json()["new_kid"]

        async def new_token():
            token = await _admin(gw)
            return token if header_of(token)["kid"] == new_kid else None

        fresh = await eventually(new_token, timeout=10, interval=0.5)
        assert (await direct.get(DLQ, headers=bearer(fresh))).status_code == 200
        assert (await direct.get(DLQ, headers=bearer(old))).status_code == 200
        assert (await gw.get(DLQ, params={"service": "audit"}, headers=bearer(old))).status_code == 200
        assert (await gw.get(DLQ, params={"service": "audit"}, headers=bearer(fresh))).status_code == 200


async def test_rate_limits_give_429_with_retry_after(gw):
    statuses = []
    for _ in range(21):
        r = await gw.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=("brute-force-me", "guess"))
        statuses.append(r.status_code)
    assert statuses[-1] == 429 and int(r.headers["retry-after"]) >= 1
    # proxied requests are limited per client (burst 40, 10/s in this platform)
    created = await gw.post(
        "/api/v1/admin/clients", json={"username": ADMIN_ID, "name": "busy"}, headers=bearer(await _admin(gw))
    )
    creds = created.json()
    busy = await gw.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(creds["client_id"], creds["client_secret"])
    )
    headers = bearer(busy.json()["access_token"])
    results = await asyncio.gather(*(gw.get("/api/v1/policy", headers=headers) for _ in range(80)))
    limited = [r for r in results if r.status_code == 429]
    assert limited and all(int(r.headers["retry-after"]) >= 1 for r in limited)
    assert limited[0].headers["content-type"] == "application/problem+json"


async def test_body_limits_give_413(gw):
    token = bearer(await _admin(gw))
    big = await gw.post(
        f"{DLQ}/{uuid.uuid4()}/replay",
        params={"service": "registry"},
        headers={**token, "content-type": "application/json"},
        content=b"[" + b"0," * (600 * 1024) + b"0]",
    )
    assert big.status_code == 413 and big.json()["limit_bytes"] == 1024 * 1024
    upload = await gw.post(
        f"/api/v1/agencies/{uuid.uuid4()}/documents",
        headers=token,
        files={"file": ("big.pdf", b"%PDF-1.4\n" + b"0" * (10 * 1024 * 1024), "application/pdf")},
        data={"kind": "other"},
    )
    assert upload.status_code == 413 and upload.json()["limit_bytes"] == 10 * 1024 * 1024


async def test_upstream_problems_pass_through(gw):
    anonymous = await gw.get(DLQ, params={"service": "registry"}, headers={"Accept-Language": "en"})
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    assert anonymous.json()["title"] == "Authentication required"
    not_found = await gw.get("/api/v1/agencies/not-a-real-path/x/y", headers={"X-Request-ID": "pass-1"})
    assert not_found.status_code in (401, 404, 405, 422)
    assert not_found.headers["x-request-id"] == "pass-1"


async def test_merged_openapi_has_every_running_service(gw):
    doc = (await gw.get("/openapi.json")).json()
    assert "/api/v1/admin/dlq" in doc["paths"]
    assert "/oauth/token" in doc["paths"]
    assert "/healthz" not in doc["paths"] or "get" in doc["paths"]["/healthz"]


async def test_a_stopped_service_gives_503_within_5_seconds(platform, gw):
    token = bearer(await _admin(gw))
    assert (await gw.get(DLQ, params={"service": "audit"}, headers=token)).status_code == 200
    platform.components["audit"].stop(kill=True)
    try:
        started = time.monotonic()
        response = await gw.get(DLQ, params={"service": "audit"}, headers=token)
        assert time.monotonic() - started < 5
        assert response.status_code == 503 and response.json()["service"] == "audit"
        assert response.headers["content-type"] == "application/problem+json"
    finally:
        platform.components["audit"].start()
        await asyncio.to_thread(platform.wait_ready, "audit")
    assert (await gw.get(DLQ, params={"service": "audit"}, headers=token)).status_code == 200
