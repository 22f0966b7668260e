"""No input yields a 500: junk at every gateway endpoint gets a 4xx."""

from __future__ import annotations

import json

from tests.gateway.helpers import ADMIN_ID, ADMIN_SECRET, admin_token, bearer

JUNK_FORMS = [
    {},
    {"grant_type": ""},
    {"grant_type": "authorization_code"},
    {"grant_type": "authorization_code", "code": "x" * 5000},
    {"grant_type": "refresh_token"},
    {"grant_type": "refresh_token", "refresh_token": "\x00\xff"},
    {"grant_type": "client_credentials", "scope": "root admin"},
    {"grant_type": "client_credentials", "client_id": "x" * 500},
    {"grant_type": "authorization_code", "client_id": "custody-cli", "code": "abc", "code_verifier": "short"},
    {"grant_type": "refresh_token", "client_id": "custody-cli", "refresh_token": "nope"},
    {"grant_type": "refresh_token", "client_id": "test-admin", "refresh_token": "nope"},
]


async def test_token_endpoint_junk_is_4xx(sqlite_gateway):
    for form in JUNK_FORMS:
        for auth in (None, (ADMIN_ID, ADMIN_SECRET), ("ghost", "x")):
            await _token_attempt(sqlite_gateway, form, auth)


async def _token_attempt(gateway, form, auth):
    response = await gateway.post("/oauth/token", data=form, auth=auth)
    assert response.status_code < 500, (form, auth, response.text)
    if auth != (ADMIN_ID, ADMIN_SECRET):  # the admin's Basic credentials win over a junk client_id field
        assert 400 <= response.status_code < 500 and "error" in response.json(), (form, auth, response.text)


async def test_odd_bodies_and_headers_are_4xx(sqlite_gateway):
    gw = sqlite_gateway
    cases = [
        (
            "POST",
            "/oauth/token",
            {"content": b"\xff\xfe\x00", "headers": {"content-type": "application/x-www-form-urlencoded"}},
        ),
        (
            "POST",
            "/oauth/token",
            {"content": b"a=" + b"b" * 70000, "headers": {"content-type": "application/x-www-form-urlencoded"}},
        ),
        (
            "POST",
            "/oauth/token",
            {
                "content": b"grant_type=client_credentials",
                "headers": {"content-type": "application/x-www-form-urlencoded", "authorization": "Basic !!!notbase64"},
            },
        ),
        (
            "POST",
            "/oauth/token",
            {
                "content": b"grant_type=client_credentials",
                "headers": {"content-type": "application/x-www-form-urlencoded", "authorization": "Basic Zm9v"},
            },
        ),
        ("POST", "/oauth/revoke", {"data": {}}),
        (
            "POST",
            "/oauth/revoke",
            {"data": {"token": "x", "token_type_hint": "weird"}, "auth": (ADMIN_ID, ADMIN_SECRET)},
        ),
        ("POST", "/oauth/introspect", {"data": {"token": "a.b.c"}, "auth": (ADMIN_ID, ADMIN_SECRET)}),
        (
            "POST",
            "/oauth/introspect",
            {"data": {"token": "eyJ.eyJ.sig", "token_type_hint": "access_token"}, "auth": (ADMIN_ID, ADMIN_SECRET)},
        ),
        ("GET", "/oauth/authorize", {}),
        ("GET", "/oauth/authorize?response_type=token&client_id=custody-cli", {}),
        (
            "GET",
            "/oauth/authorize?response_type=code&client_id=custody-cli&redirect_uri=http://127.0.0.1:99999/callback",
            {},
        ),
        ("GET", "/oauth/authorize?response_type=code&client_id=custody-cli&client_id=other", {}),
        ("POST", "/oauth/authorize", {"data": {"username": "x", "password": "y"}}),
        ("GET", "/api/v1/me", {"headers": {"authorization": "Bearer " + "x" * 10000}}),
        ("GET", "/api/v1/me", {"headers": {"authorization": "Bearer eyJhbGciOiJSUzI1NiJ9.e30.x"}}),
        ("GET", "/api/v1/me", {"headers": {"authorization": "Bearer ....."}}),
        (
            "POST",
            "/api/v1/accounts",
            {
                "json": {
                    "username": "\u0000bad",
                    "password": "x" * 300,
                    "role": "agency",
                    "org_uscc": 5,
                    "display_name": "",
                }
            },
        ),
        ("POST", "/api/v1/accounts", {"content": b"[1,2", "headers": {"content-type": "application/json"}}),
        ("GET", "/api/v1/admin/dlq?service=%ff", {}),
        ("GET", "/api/v1/admin/keys", {}),
    ]
    for method, url, kwargs in cases:
        response = await gw.request(method, url, **kwargs)
        assert response.status_code < 500, (method, url, response.status_code, response.text[:300])


async def test_junk_admin_bodies_are_422(sqlite_gateway):
    admin = bearer(await admin_token(sqlite_gateway))
    for body in (
        {"username": "ab"},
        {"name": ""},
        {"username": "x", "name": "y", "scopes": ["custody.read", 5]},
        {"username": "x", "name": "y", "scopes": []},
        {"username": "x" * 65, "name": "y"},
    ):
        response = await sqlite_gateway.post("/api/v1/admin/clients", json=body, headers=admin)
        assert response.status_code == 422, (body, response.text)


NEVER_VALID = [
    ("nul", "abc\u0000def"),
    ("surrogate", "\ud800"),
    ("bell", "a\x07b"),
    ("nested", {"a": [1]}),
    ("number", 1e300),
]


async def test_never_valid_text_is_refused_in_every_field(sqlite_gateway):
    from tests.gateway.helpers import VALID_USCC

    gw = sqlite_gateway
    admin = bearer(await admin_token(gw))
    bodies = {
        "/api/v1/accounts": {
            "username": "fresh-user",
            "password": "long-enough-pw",
            "role": "agency",
            "org_uscc": VALID_USCC,
            "display_name": "Fresh",
        },
        "/api/v1/admin/accounts": {
            "username": "fresh-admin",
            "password": "long-enough-pw",
            "role": "admin",
            "display_name": "A",
        },
        "/api/v1/admin/clients": {"username": ADMIN_ID, "name": "c", "scopes": "custody.read"},
        "/api/v1/me/clients": {"name": "c", "scopes": "custody.read"},
    }
    for path, body in bodies.items():
        for field in body:
            for label, value in NEVER_VALID:
                mutated = {**body, field: value}
                response = await gw.post(
                    path, content=json.dumps(mutated).encode(), headers={**admin, "content-type": "application/json"}
                )
                assert 400 <= response.status_code < 500, (path, field, label, response.status_code, response.text)
                assert response.headers["content-type"] == "application/problem+json"


async def test_malformed_bodies_at_own_endpoints_are_4xx_problems(sqlite_gateway):
    gw = sqlite_gateway
    admin = bearer(await admin_token(gw))
    cases = [
        (b'{"x": "' + b"a" * (2 * 1024 * 1024) + b'"}', "application/json", {413}),
        (b"{this is not json", "application/json", {400}),
        (b'{"name": "\xff\xfe\xfa"}', "application/json", {400, 422}),
        (b"[" * 100_000 + b"]" * 100_000, "application/json", {400, 422}),
        (b"[1, 2, 3]", "application/json", {422}),
        (b"", "application/json", {400, 422}),
        (b"name=x", "text/plain", {415}),
        (b'{"value": NaN, "other": Infinity}', "application/json", {400, 422}),
    ]
    for path in ("/api/v1/accounts", "/api/v1/admin/accounts", "/api/v1/admin/clients", "/api/v1/me/clients"):
        for content, ctype, statuses in cases:
            response = await gw.post(path, content=content, headers={**admin, "content-type": ctype})
            assert response.status_code in statuses, (path, content[:20], response.status_code, response.text[:200])
            assert response.headers["content-type"] == "application/problem+json"
    for path in ("/oauth/token", "/oauth/revoke", "/oauth/introspect"):
        big = await gw.post(
            path,
            content=b"a=" + b"b" * (2 * 1024 * 1024),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert big.status_code == 413


async def test_streamed_oversized_body_at_own_endpoint_is_413(sqlite_gateway):
    async def chunks():
        for _ in range(20):
            yield b" " * (100 * 1024)

    response = await sqlite_gateway.post(
        "/api/v1/accounts", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413 and response.headers["content-type"] == "application/problem+json"
