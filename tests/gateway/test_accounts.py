"""Accounts and clients: public sign-up, admin-created accounts, admin- and self-service clients,
``/api/v1/me``, validation (422), conflicts (409) and authorization (401/403)."""

from __future__ import annotations

from devtools.testing.tokens import auth as foreign_token
from tests.gateway.helpers import ADMIN_ID, VALID_USCC, admin_token, bearer, sign_up


async def test_public_sign_up_validates_role_and_uscc(gateway):
    created = await sign_up(gateway, "agency-one", role="agency")
    assert created["role"] == "agency" and created["org_uscc"] == VALID_USCC and "password" not in str(created)
    bad_uscc = await gateway.post(
        "/api/v1/accounts",
        json={
            "username": "agency-two",
            "password": "long-enough-pw",
            "role": "agency",
            "org_uscc": "91440703MA4UJ8XK6X",
            "display_name": "x",
        },
        headers={"Accept-Language": "en"},
    )
    assert bad_uscc.status_code == 422
    assert bad_uscc.headers["content-type"] == "application/problem+json"
    assert any(e["field"] == "org_uscc" for e in bad_uscc.json()["errors"])
    bureau = await gateway.post(
        "/api/v1/accounts",
        json={
            "username": "sneaky",
            "password": "long-enough-pw",
            "role": "bureau",
            "org_uscc": VALID_USCC,
            "display_name": "x",
        },
    )
    assert bureau.status_code == 422
    taken = await gateway.post(
        "/api/v1/accounts",
        json={
            "username": "AGENCY-one",
            "password": "long-enough-pw",
            "role": "agency",
            "org_uscc": VALID_USCC,
            "display_name": "x",
        },
    )
    assert taken.status_code == 409
    for junk in ([], "x", {"username": None}, {"username": "ab", "password": "p"}):
        assert (await gateway.post("/api/v1/accounts", json=junk)).status_code == 422
    malformed = await gateway.post(
        "/api/v1/accounts", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 400


async def test_admin_creates_bureau_accounts_with_districts(sqlite_gateway):
    admin = bearer(await admin_token(sqlite_gateway))
    ok = await sqlite_gateway.post(
        "/api/v1/admin/accounts",
        json={"username": "pengjiang", "password": "long-enough-pw", "role": "bureau", "district": "440703"},
        headers=admin,
    )
    assert ok.status_code == 201 and ok.json()["district"] == "440703"
    city = await sqlite_gateway.post(
        "/api/v1/admin/accounts",
        json={"username": "city", "password": "long-enough-pw", "role": "bureau", "district": "440700"},
        headers=admin,
    )
    assert city.status_code == 201
    town = await sqlite_gateway.post(  # a town bureau (SPEC §22): its district is a town code of the data
        "/api/v1/admin/accounts",
        json={"username": "huanshi", "password": "long-enough-pw", "role": "bureau", "district": "440703001"},
        headers=admin,
    )
    assert town.status_code == 201 and town.json()["district"] == "440703001"
    for body in (
        {"role": "bureau"},
        {"role": "bureau", "district": "999999"},
        {"role": "bureau", "district": "440703999"},  # not a town of the jurisdiction data
        {"role": "bureau", "district": "440703001001"},  # a village: no bureau of its own
        {"role": "admin", "district": "440703"},
        {"role": "agency"},
    ):
        response = await sqlite_gateway.post(
            "/api/v1/admin/accounts", json={"username": "nobody1", "password": "long-enough-pw", **body}, headers=admin
        )
        assert response.status_code == 422, (body, response.text)
    anonymous = await sqlite_gateway.post(
        "/api/v1/admin/accounts", json={"username": "x1x", "password": "long-enough-pw", "role": "admin"}
    )
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"].startswith("Bearer")


async def test_admin_and_self_service_clients_act_as_their_account(gateway):
    await sign_up(gateway, "ent-a", role="enterprise")
    admin = bearer(await admin_token(gateway))
    created = await gateway.post("/api/v1/admin/clients", json={"username": "ent-a", "name": "erp"}, headers=admin)
    assert created.status_code == 201, created.text
    creds = created.json()
    assert creds["client_id"] and len(creds["client_secret"]) >= 40
    token = await gateway.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(creds["client_id"], creds["client_secret"])
    )
    assert token.status_code == 200
    me = await gateway.get("/api/v1/me", headers=bearer(token.json()["access_token"]))
    assert me.status_code == 200 and me.json()["username"] == "ent-a" and me.json()["role"] == "enterprise"

    own = await gateway.post(
        "/api/v1/me/clients",
        json={"name": "reporting", "scopes": "custody.read"},
        headers=bearer(token.json()["access_token"]),
    )
    assert own.status_code == 201 and own.json()["scopes"] == "custody.read"
    ro = await gateway.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(own.json()["client_id"], own.json()["client_secret"]),
    )
    assert ro.json()["scope"] == "custody.read"
    # a read-only token cannot write, even at the gateway's own endpoints
    write = await gateway.post("/api/v1/me/clients", json={"name": "more"}, headers=bearer(ro.json()["access_token"]))
    assert write.status_code == 403
    # asking for more scope than the client has yields only what it has
    narrowed = await gateway.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "custody.read custody.write"},
        auth=(own.json()["client_id"], own.json()["client_secret"]),
    )
    assert narrowed.json()["scope"] == "custody.read"

    assert (
        await gateway.post("/api/v1/admin/clients", json={"username": "ghost", "name": "x"}, headers=admin)
    ).status_code == 404
    assert (
        await gateway.post(
            "/api/v1/admin/clients", json={"username": "ent-a", "name": "x", "scopes": "root"}, headers=admin
        )
    ).status_code == 422
    not_admin = await gateway.post(
        "/api/v1/admin/clients", json={"username": "ent-a", "name": "x"}, headers=bearer(token.json()["access_token"])
    )
    assert not_admin.status_code == 403


async def test_tokens_not_signed_by_the_gateway_are_refused(sqlite_gateway):
    # a token from another issuer's key (the test key services trust in unit tests) is not ours
    response = await sqlite_gateway.get("/api/v1/me", headers=foreign_token("admin"))
    assert response.status_code == 401
    assert (await sqlite_gateway.get("/api/v1/me", headers={"Authorization": "Bearer a.b.c"})).status_code == 401
    assert (await sqlite_gateway.get("/api/v1/me", headers={"Authorization": "Basic eDp5"})).status_code == 401


async def test_bootstrap_admin_account_exists_once(sqlite_gateway):
    token = await admin_token(sqlite_gateway)
    me = (await sqlite_gateway.get("/api/v1/me", headers=bearer(token))).json()
    assert me["username"] == ADMIN_ID and me["role"] == "admin" and me["district"] is None


async def test_idempotency_key_on_sign_up_returns_the_first_response(gateway):
    body = {
        "username": "idem-user",
        "password": "long-enough-pw",
        "role": "agency",
        "org_uscc": VALID_USCC,
        "display_name": "Idem",
    }
    first = await gateway.post("/api/v1/accounts", json=body, headers={"Idempotency-Key": "k-1"})
    again = await gateway.post("/api/v1/accounts", json=body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    other = await gateway.post(
        "/api/v1/accounts", json={**body, "display_name": "Other"}, headers={"Idempotency-Key": "k-1"}
    )
    assert other.status_code == 422


async def test_a_read_only_client_cannot_obtain_write_scope(sqlite_gateway):
    admin = bearer(await admin_token(sqlite_gateway))
    ro = (
        await sqlite_gateway.post(
            "/api/v1/admin/clients",
            json={"username": ADMIN_ID, "name": "ro", "scopes": ["custody.read"]},
            headers=admin,
        )
    ).json()
    only_write = await sqlite_gateway.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "custody.write"},
        auth=(ro["client_id"], ro["client_secret"]),
    )
    assert only_write.status_code == 400 and only_write.json()["error"] == "invalid_scope"
    unknown = await sqlite_gateway.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "root"},
        auth=(ro["client_id"], ro["client_secret"]),
    )
    assert unknown.status_code == 400 and unknown.json()["error"] == "invalid_scope"
