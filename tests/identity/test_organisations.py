"""Organisations (SPEC §14) in the gateway, on both backends: the first sign-up of a USCC opens a
pending organisation, any later one needs a single-use invitation; the bureau of the district the
USCC names (else the city) verifies, rejects, suspends, reinstates and reassigns; members and
invitations; tokens carry ``org_status``; events on the real bus."""

from __future__ import annotations

import uuid

from devtools.testing.events import read_events
from devtools.testing.wait import eventually
from shared.clock import FrozenClock
from tests.gateway.conftest import gateway_settings, running_gateway
from tests.gateway.helpers import bearer
from tests.gateway.test_oauth import claims_of
from tests.identity.helpers import (
    PASSWORD,
    admin_account,
    admin_headers,
    assert_problem,
    bureau,
    fresh_uscc,
    signup,
    token,
    unique,
    verify,
)


async def test_first_sign_up_opens_a_pending_organisation_and_a_second_needs_an_invitation(gateway, backend):
    uscc = fresh_uscc("440703")
    first = (await signup(gateway, "enterprise", uscc)).json()
    assert first["org_status"] == "pending" and first["org_uscc"] == uscc
    me = await token(gateway, first["username"])
    assert claims_of(me)["org_status"] == "pending"
    org = (await gateway.get(f"/api/v1/organisations/{uscc}", headers=bearer(me))).json()
    assert org["status"] == "pending" and org["district"] == "440703" and org["admin_account_id"] == first["id"]
    assert org["kind"] == "enterprise"

    # the attacker's step: sign up with the USCC the directory (or the enterprise's licence) shows
    impostor = await signup(gateway, "enterprise", uscc, expect=409)
    body = assert_problem(impostor, 409, "organisation_exists")
    assert "管理员" in body["detail"] and "应急管理局" in body["detail"]  # zh-CN first: ask the admin, or the bureau
    english = await signup(gateway, "enterprise", uscc, expect=409, **{"Accept-Language": "en"})
    assert "administrator" in english.json()["detail"] and "bureau" in english.json()["detail"]
    # nor as the other kind of organisation
    assert_problem(await signup(gateway, "agency", uscc, expect=409), 409, "organisation_exists")
    assert_problem(
        await signup(gateway, "enterprise", uscc, invitation="inv_guessed", expect=409), 409, "invitation_invalid"
    )

    async def registered():
        events = await read_events(backend.settings(), event_type="organisation.registered")
        return [e for e in events if e.data["uscc"] == uscc]

    [event] = await eventually(registered, timeout=10)
    assert event.source == "/gateway" and event.data["status"] == "pending" and event.data["district"] == "440703"


async def test_district_from_uscc_positions_3_to_8_else_the_city(sqlite_gateway):
    for district, expected in (("440704", "440704"), ("440781", "440781"), ("440000", "440700"), ("110105", "440700")):
        uscc = fresh_uscc(district)
        account = (await signup(sqlite_gateway, "agency", uscc)).json()
        org = (
            await sqlite_gateway.get(
                f"/api/v1/organisations/{uscc}", headers=bearer(await token(sqlite_gateway, account["username"]))
            )
        ).json()
        assert org["district"] == expected, (district, org)


async def test_the_bureau_of_the_district_or_the_city_verifies(gateway, backend):
    uscc = fresh_uscc("440703")
    account = (await signup(gateway, "enterprise", uscc)).json()
    other_district = await bureau(gateway, "440704")
    assert (await verify(gateway, uscc, other_district)).status_code == 403
    member = bearer(await token(gateway, account["username"]))
    assert (await verify(gateway, uscc, member)).status_code == 403  # nobody verifies itself
    own = await bureau(gateway, "440703")
    queue = (await gateway.get("/api/v1/organisations", params={"status": "pending"}, headers=own)).json()
    assert uscc in {o["uscc"] for o in queue["items"]}
    assert uscc not in {
        o["uscc"] for o in (await gateway.get("/api/v1/organisations", headers=other_district)).json()["items"]
    }
    assert (
        await gateway.get("/api/v1/organisations", params={"district": "440703"}, headers=other_district)
    ).status_code == 403
    assert (await gateway.get("/api/v1/organisations", headers=member)).status_code == 403
    verified = await verify(gateway, uscc, own)
    assert verified.status_code == 200 and verified.json()["status"] == "verified" and verified.json()["verified_at"]
    assert verified.headers["etag"] == f'"{verified.json()["version"]}"'
    assert_problem(await verify(gateway, uscc, own), 409, "invalid_transition")
    # a token issued after verification says so
    assert claims_of(await token(gateway, account["username"]))["org_status"] == "verified"
    city = await bureau(gateway, "440700")
    rejected_uscc = fresh_uscc("440705")
    await signup(gateway, "agency", rejected_uscc)
    rejected = await verify(gateway, rejected_uscc, city, decision="reject")
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"

    async def decided():
        types = {(e.type, e.data.get("uscc")) for e in await read_events(backend.settings())}
        return ("organisation.verified", uscc) in types and ("organisation.rejected", rejected_uscc) in types

    await eventually(decided, timeout=10)


async def test_suspend_and_reinstate_cut_off_members_tokens(gateway):
    uscc = fresh_uscc("440703")
    account = (await signup(gateway, "agency", uscc)).json()
    own = await bureau(gateway, "440703")
    await verify(gateway, uscc, own)
    before = await token(gateway, account["username"])
    assert (await gateway.get("/api/v1/me", headers=bearer(before))).status_code == 200
    r = await gateway.post(f"/api/v1/organisations/{uscc}/suspend", json={"reason": "资质存疑"}, headers=own)
    assert r.status_code == 200 and r.json()["status"] == "suspended"
    revoked = await gateway.get("/api/v1/me", headers=bearer(before))
    assert_problem(revoked, 401, "token_revoked")
    during = await token(gateway, account["username"])  # may still sign in, but its token says suspended
    assert claims_of(during)["org_status"] == "suspended"
    assert_problem(
        await gateway.post(f"/api/v1/organisations/{uscc}/suspend", json={"reason": "x"}, headers=own),
        409,
        "invalid_transition",
    )
    back = await gateway.post(f"/api/v1/organisations/{uscc}/reinstate", json={"reason": "复核通过"}, headers=own)
    assert back.status_code == 200 and back.json()["status"] == "verified"
    assert claims_of(await token(gateway, account["username"]))["org_status"] == "verified"
    stale = await gateway.post(
        f"/api/v1/organisations/{uscc}/suspend", json={"reason": "x"}, headers={**own, "If-Match": '"1"'}
    )
    assert stale.status_code == 412


async def test_invitations_are_single_use_expire_and_only_a_verified_admin_issues_them(backend):
    clock = FrozenClock()
    async with running_gateway(gateway_settings(backend), clock) as gw:
        uscc = fresh_uscc("440704")
        admin_of_org = (await signup(gw, "enterprise", uscc)).json()
        pending_admin = bearer(await token(gw, admin_of_org["username"]))
        assert_problem(
            await gw.post(f"/api/v1/organisations/{uscc}/invitations", json={}, headers=pending_admin),
            403,
            "organisation_unverified",
        )
        await verify(gw, uscc, await bureau(gw, "440704"))
        org_admin = bearer(await token(gw, admin_of_org["username"]))
        created = await gw.post(f"/api/v1/organisations/{uscc}/invitations", json={}, headers=org_admin)
        assert created.status_code == 201, created.text
        code = created.json()["code"]
        joined = (await signup(gw, "enterprise", uscc, invitation=code)).json()
        assert joined["org_status"] == "verified"
        # a stolen code, used a second time
        assert_problem(await signup(gw, "enterprise", uscc, invitation=code, expect=409), 409, "invitation_invalid")
        # a member that is not the admin cannot invite
        member = bearer(await token(gw, joined["username"]))
        assert (await gw.post(f"/api/v1/organisations/{uscc}/invitations", json={}, headers=member)).status_code == 403
        # another organisation's code does not open this one
        other = fresh_uscc("440704")
        other_admin = await admin_account(gw, "enterprise", org_uscc=other)
        other_code = (
            await gw.post(
                f"/api/v1/organisations/{other}/invitations",
                json={},
                headers=bearer(await token(gw, other_admin["username"])),
            )
        ).json()["code"]
        assert_problem(
            await signup(gw, "enterprise", uscc, invitation=other_code, expect=409), 409, "invitation_invalid"
        )
        members = (await gw.get(f"/api/v1/organisations/{uscc}/members", headers=org_admin)).json()
        assert {m["username"] for m in members["items"]} == {admin_of_org["username"], joined["username"]}
        assert [m["is_admin"] for m in members["items"] if m["username"] == admin_of_org["username"]] == [True]
        # at most 7 days
        late = (await gw.post(f"/api/v1/organisations/{uscc}/invitations", json={}, headers=org_admin)).json()
        clock.advance(days=7, seconds=1)
        assert_problem(
            await signup(gw, "enterprise", uscc, invitation=late["code"], expect=409), 409, "invitation_invalid"
        )


async def test_the_admin_removes_a_member_whose_tokens_stop_working(gateway):
    uscc = fresh_uscc("440703")
    owner = await admin_account(gateway, "agency", org_uscc=uscc)
    owner_h = bearer(await token(gateway, owner["username"]))
    code = (await gateway.post(f"/api/v1/organisations/{uscc}/invitations", json={}, headers=owner_h)).json()["code"]
    member = (await signup(gateway, "agency", uscc, invitation=code)).json()
    member_token = await token(gateway, member["username"])
    assert (
        await gateway.delete(f"/api/v1/organisations/{uscc}/members/{member['id']}", headers=bearer(member_token))
    ).status_code == 403  # only the admin
    assert_problem(
        await gateway.delete(f"/api/v1/organisations/{uscc}/members/{owner['id']}", headers=owner_h),
        409,
        "admin_cannot_leave",
    )
    removed = await gateway.delete(f"/api/v1/organisations/{uscc}/members/{member['id']}", headers=owner_h)
    assert removed.status_code == 204
    assert_problem(await gateway.get("/api/v1/me", headers=bearer(member_token)), 401, "token_revoked")
    login = await gateway.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(member["username"], PASSWORD)
    )
    assert login.status_code in (400, 401)
    assert (
        await gateway.delete(f"/api/v1/organisations/{uscc}/members/{uuid.uuid4()}", headers=owner_h)
    ).status_code == 404


async def test_reassign_recovers_from_an_impostor_who_claimed_a_fresh_uscc_first(gateway, backend):
    uscc = fresh_uscc("440703")
    impostor = (await signup(gateway, "enterprise", uscc)).json()
    impostor_token = await token(gateway, impostor["username"])
    # the rightful owner goes to the bureau; an admin makes its account, which joins the organisation
    owner = await admin_account(gateway, "enterprise", org_uscc=uscc)
    assert owner["org_status"] == "pending"
    own = await bureau(gateway, "440703")
    bad = await gateway.post(
        f"/api/v1/organisations/{uscc}/reassign", json={"account_id": str(uuid.uuid4()), "reason": "x"}, headers=own
    )
    assert bad.status_code == 422
    assert (
        await gateway.post(
            f"/api/v1/organisations/{uscc}/reassign",
            json={"account_id": owner["id"], "reason": "x"},
            headers=await bureau(gateway, "440704"),
        )
    ).status_code == 403
    r = await gateway.post(
        f"/api/v1/organisations/{uscc}/reassign",
        json={"account_id": owner["id"], "reason": "营业执照原件核验：冒领"},
        headers=own,
    )
    assert r.status_code == 200, r.text
    assert r.json()["admin_account_id"] == owner["id"] and r.json()["status"] == "verified"
    # the impostor's token issued before is refused, and it cannot sign in again
    assert_problem(await gateway.get("/api/v1/me", headers=bearer(impostor_token)), 401, "token_revoked")
    from tests.gateway.helpers import authorize_query, login, pkce

    _, challenge = pkce()
    assert (await login(gateway, authorize_query(challenge), impostor["username"], PASSWORD)).status_code == 401
    owner_claims = claims_of(await token(gateway, owner["username"]))
    assert owner_claims["org_status"] == "verified" and owner_claims["org_uscc"] == uscc
    members = (await gateway.get(f"/api/v1/organisations/{uscc}/members", headers=own)).json()["items"]
    assert [m["id"] for m in members] == [owner["id"]]

    async def published():
        events = await read_events(backend.settings())
        revoked = [e for e in events if e.type == "token.revoked" and impostor["id"] in e.data["subjects"]]
        reassigned = [e for e in events if e.type == "organisation.reassigned" and e.data["uscc"] == uscc]
        return revoked and reassigned

    await eventually(published, timeout=10)


async def test_admin_made_accounts_create_verified_organisations_and_must_match_the_kind(gateway):
    uscc = fresh_uscc("440785")
    created = await admin_account(gateway, "agency", org_uscc=uscc)
    assert created["org_status"] == "verified"
    org = (await gateway.get(f"/api/v1/organisations/{uscc}", headers=await admin_headers(gateway))).json()
    assert org["status"] == "verified" and org["admin_account_id"] == created["id"] and org["district"] == "440785"
    wrong_kind = await gateway.post(
        "/api/v1/admin/accounts",
        json={"username": unique("e"), "password": PASSWORD, "role": "enterprise", "org_uscc": uscc},
        headers=await admin_headers(gateway),
    )
    assert wrong_kind.status_code == 422
    # outsiders do not see it; the admin and its bureau do
    stranger = (await signup(gateway, "enterprise", fresh_uscc())).json()
    assert (
        await gateway.get(f"/api/v1/organisations/{uscc}", headers=bearer(await token(gateway, stranger["username"])))
    ).status_code == 404
    assert (await gateway.get("/api/v1/organisations/NOPE", headers=await admin_headers(gateway))).status_code == 404


async def test_usernames_are_unique_case_insensitively_and_the_bootstrap_admin_cannot_be_squatted(gateway):
    name = unique("CaseUser")
    await signup(gateway, "agency", fresh_uscc(), username=name)
    for variant in (name.lower(), name.upper()):
        assert_problem(
            await signup(gateway, "agency", fresh_uscc(), username=variant, expect=409), 409, "username_taken"
        )
    from tests.gateway.helpers import ADMIN_ID

    for squat in (ADMIN_ID, ADMIN_ID.upper(), "custody-admin", "Custody-CLI", "ADMIN"):
        assert_problem(
            await signup(gateway, "enterprise", fresh_uscc(), username=squat, expect=409), 409, "username_taken"
        )
    # the index, not a check-then-insert: a row with another case of a taken name cannot be written
    import pytest
    from sqlalchemy.exc import IntegrityError

    from gateway.models import Account, username_key
    from shared.clock import utcnow
    from shared.ids import new_id

    db = gateway.app.state.gw.db
    with pytest.raises(IntegrityError):
        async with db.transaction() as session:
            session.add(
                Account(
                    id=new_id(),
                    username=name.swapcase(),
                    username_key=username_key(name),
                    role="agency",
                    created_at=utcnow(),
                )
            )
    # logins are case-insensitive too
    assert claims_of(await token(gateway, name.upper()))["username"] == name


async def test_agency_approved_on_the_bus_verifies_a_pending_agency_organisation(gateway, backend):
    from devtools.testing.events import publish_event

    agency = fresh_uscc("440703")
    enterprise = fresh_uscc("440703")
    await signup(gateway, "agency", agency)
    await signup(gateway, "enterprise", enterprise)
    data = {
        "id": str(uuid.uuid4()),
        "version": 3,
        "uscc": agency,
        "name": "机构",
        "status": "approved",
        "district_code": "440703",
        "filing_no": "JM-TG-2026-0001",
    }
    for _ in range(2):  # a duplicate delivery changes nothing more
        await publish_event(backend.settings(), "agency.approved", data)
    await publish_event(backend.settings(), "agency.approved", {**data, "id": str(uuid.uuid4()), "uscc": enterprise})
    admin = await admin_headers(gateway)

    async def verified():
        org = (await gateway.get(f"/api/v1/organisations/{agency}", headers=admin)).json()
        return org if org["status"] == "verified" else None

    org = await eventually(verified, timeout=15)
    assert org["decided_by"] == "registry:agency.approved" and org["version"] == 2
    # an enterprise's organisation is not an agency's filing
    assert (await gateway.get(f"/api/v1/organisations/{enterprise}", headers=admin)).json()["status"] == "pending"
    events = [
        e for e in await read_events(backend.settings(), event_type="organisation.verified") if e.data["uscc"] == agency
    ]
    assert len(events) == 1


async def test_the_verification_queue_pages_with_a_cursor(gateway):
    city = await bureau(gateway, "440700")
    made = [fresh_uscc("440783") for _ in range(3)]
    for uscc in made:
        await signup(gateway, "enterprise", uscc)
    seen, cursor = [], None
    for _ in range(5):
        params = {"district": "440783", "status": "pending", "kind": "enterprise", "limit": 1}
        if cursor:
            params["cursor"] = cursor
        page = (await gateway.get("/api/v1/organisations", params=params, headers=city)).json()
        seen += [o["uscc"] for o in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert set(made) <= set(seen) and len(seen) == len(set(seen))
    assert (await gateway.get("/api/v1/organisations", params={"cursor": "garbage!"}, headers=city)).status_code == 422
