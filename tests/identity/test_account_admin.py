"""Account administration (SPEC §14), in process on both backends: change password; list and
delete one's clients; the admin lists, disables and enables accounts and lists and deletes
clients. Disabling or deleting revokes live tokens (here at the gateway; at a service reached
directly in test_through_processes.py)."""

from __future__ import annotations

from tests.gateway.helpers import ADMIN_ID, ADMIN_SECRET, authorize_query, bearer, login, pkce
from tests.identity.helpers import PASSWORD, admin_account, admin_headers, assert_problem, fresh_uscc, signup, token


async def _client_of(gw, headers: dict[str, str], name: str = "erp") -> dict:
    r = await gw.post("/api/v1/me/clients", json={"name": name}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def _client_token(gw, creds: dict) -> str:
    r = await gw.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(creds["client_id"], creds["client_secret"])
    )
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


async def test_change_password_ends_every_session(gateway):
    account = (await signup(gateway, "enterprise", fresh_uscc())).json()
    me = bearer(await token(gateway, account["username"]))
    creds = await _client_of(gateway, me)
    integration = bearer(await _client_token(gateway, creds))
    wrong = await gateway.post(
        "/api/v1/me/password", json={"current_password": "not-it", "new_password": "a-new-pass-1"}, headers=me
    )
    assert_problem(wrong, 422, "current_password_wrong")
    short = await gateway.post(
        "/api/v1/me/password", json={"current_password": PASSWORD, "new_password": "short"}, headers=me
    )
    assert short.status_code == 422
    ok = await gateway.post(
        "/api/v1/me/password", json={"current_password": PASSWORD, "new_password": "a-new-pass-1"}, headers=me
    )
    assert ok.status_code == 200 and ok.json()["sessions_revoked"] is True
    assert_problem(await gateway.get("/api/v1/me", headers=me), 401, "token_revoked")
    assert_problem(await gateway.get("/api/v1/me", headers=integration), 401, "token_revoked")
    _, challenge = pkce()
    assert (await login(gateway, authorize_query(challenge), account["username"], PASSWORD)).status_code == 401
    fresh = bearer(await token(gateway, account["username"], "a-new-pass-1"))
    assert (await gateway.get("/api/v1/me", headers=fresh)).status_code == 200
    assert await _client_token(gateway, creds)  # the client's secret still works: a new token is issued


async def test_list_and_delete_ones_own_clients(gateway):
    alice = (await signup(gateway, "agency", fresh_uscc())).json()
    bob = (await signup(gateway, "agency", fresh_uscc())).json()
    alice_h, bob_h = bearer(await token(gateway, alice["username"])), bearer(await token(gateway, bob["username"]))
    mine = await _client_of(gateway, alice_h, "mine")
    theirs = await _client_of(gateway, bob_h, "theirs")
    listed = (await gateway.get("/api/v1/me/clients", headers=alice_h)).json()["items"]
    assert [c["client_id"] for c in listed] == [mine["client_id"]] and "client_secret" not in listed[0]
    live = bearer(await _client_token(gateway, mine))
    assert (await gateway.delete(f"/api/v1/me/clients/{theirs['client_id']}", headers=alice_h)).status_code == 404
    assert (await gateway.delete(f"/api/v1/me/clients/{mine['client_id']}", headers=alice_h)).status_code == 204
    assert_problem(await gateway.get("/api/v1/me", headers=live), 401, "token_revoked")
    assert (
        await gateway.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=(mine["client_id"], mine["client_secret"])
        )
    ).status_code == 401
    assert (await gateway.get("/api/v1/me/clients", headers=alice_h)).json()["items"] == []
    assert (await gateway.get("/api/v1/me/clients")).status_code == 401


async def test_a_pending_or_suspended_member_still_manages_its_own_account(gateway):
    account = (await signup(gateway, "enterprise", fresh_uscc())).json()
    pending = bearer(await token(gateway, account["username"]))
    assert (await gateway.get("/api/v1/me/clients", headers=pending)).status_code == 200
    assert (await _client_of(gateway, pending))["client_id"]


async def test_admin_lists_disables_and_enables_accounts(gateway):
    admin = await admin_headers(gateway)
    target = (await signup(gateway, "enterprise", fresh_uscc())).json()
    bureau = await admin_account(gateway, "bureau", district="440704")
    target_h = bearer(await token(gateway, target["username"]))
    creds = await _client_of(gateway, target_h)
    listed = (await gateway.get("/api/v1/admin/accounts", params={"role": "bureau"}, headers=admin)).json()
    assert bureau["id"] in {a["id"] for a in listed["items"]} and {a["role"] for a in listed["items"]} == {"bureau"}
    found = (
        await gateway.get("/api/v1/admin/accounts", params={"q": target["username"].upper()}, headers=admin)
    ).json()
    assert [a["id"] for a in found["items"]] == [target["id"]] and found["items"][0]["org_status"] == "pending"
    assert (await gateway.get("/api/v1/admin/accounts", params={"q": "%"}, headers=admin)).json()["items"] == []
    page = (await gateway.get("/api/v1/admin/accounts", params={"limit": 1}, headers=admin)).json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    second = (
        await gateway.get("/api/v1/admin/accounts", params={"limit": 1, "cursor": page["next_cursor"]}, headers=admin)
    ).json()
    assert second["items"][0]["id"] != page["items"][0]["id"]
    assert (await gateway.get("/api/v1/admin/accounts", headers=target_h)).status_code == 403

    disabled = await gateway.post(
        f"/api/v1/admin/accounts/{target['id']}/disable", json={"reason": "离职"}, headers=admin
    )
    assert (
        disabled.status_code == 200
        and disabled.json()["disabled"] is True
        and disabled.json()["disabled_reason"] == "离职"
    )
    assert_problem(await gateway.get("/api/v1/me", headers=target_h), 401, "token_revoked")
    assert (
        await gateway.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=(creds["client_id"], creds["client_secret"])
        )
    ).status_code == 401
    _, challenge = pkce()
    assert (await login(gateway, authorize_query(challenge), target["username"], PASSWORD)).status_code == 401
    assert (
        await gateway.post(f"/api/v1/admin/accounts/{target['id']}/disable", json={}, headers=admin)
    ).status_code == 422
    enabled = await gateway.post(
        f"/api/v1/admin/accounts/{target['id']}/enable", json={"reason": "复职"}, headers=admin
    )
    assert enabled.status_code == 200 and enabled.json()["disabled"] is False
    assert (
        await gateway.get("/api/v1/me", headers=bearer(await token(gateway, target["username"])))
    ).status_code == 200
    # nobody locks the operator out
    me = (await gateway.get("/api/v1/me", headers=admin)).json()
    assert_problem(
        await gateway.post(f"/api/v1/admin/accounts/{me['id']}/disable", json={"reason": "x"}, headers=admin),
        409,
        "account_protected",
    )
    import uuid

    assert (
        await gateway.post(f"/api/v1/admin/accounts/{uuid.uuid4()}/disable", json={"reason": "x"}, headers=admin)
    ).status_code == 404


async def test_admin_lists_and_deletes_clients(gateway):
    admin = await admin_headers(gateway)
    account = (await signup(gateway, "agency", fresh_uscc())).json()
    created = (
        await gateway.post(
            "/api/v1/admin/clients", json={"username": account["username"], "name": "erp"}, headers=admin
        )
    ).json()
    live = bearer(await _client_token(gateway, created))
    listed = (await gateway.get("/api/v1/admin/clients", params={"account_id": account["id"]}, headers=admin)).json()
    assert [c["client_id"] for c in listed["items"]] == [created["client_id"]]
    everyone = (await gateway.get("/api/v1/admin/clients", params={"limit": 200}, headers=admin)).json()
    assert {"custody-cli", ADMIN_ID} <= {c["client_id"] for c in everyone["items"]}
    for protected in ("custody-cli", ADMIN_ID, "custody-portal"):
        assert_problem(
            await gateway.delete(f"/api/v1/admin/clients/{protected}", headers=admin), 409, "client_protected"
        )
    assert (await gateway.delete(f"/api/v1/admin/clients/{created['client_id']}", headers=live)).status_code == 403
    assert (await gateway.delete(f"/api/v1/admin/clients/{created['client_id']}", headers=admin)).status_code == 204
    assert_problem(await gateway.get("/api/v1/me", headers=live), 401, "token_revoked")
    assert (await gateway.delete(f"/api/v1/admin/clients/{created['client_id']}", headers=admin)).status_code == 404
    assert (
        await gateway.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(ADMIN_ID, ADMIN_SECRET))
    ).status_code == 200
