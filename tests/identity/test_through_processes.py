"""Issue #14's "Done when", through the real platform (gateway + four services as processes, real
NATS, real databases) on both backends:

- the attacker's sequence (directory → sign-up with the victim's USCC → PKCE login) gets 409; a
  stolen invitation works at most once; an impostor who claimed a fresh USCC first loses every
  power once the bureau reassigns it, tokens issued before included — at the gateway and at a
  service reached directly;
- an unverified enterprise cannot create, sign or file a contract, confirm a visit or rectify a
  hazard;
- 25 failing refreshes naming custody-cli plus 15 wrong passwords for a bureau's username from one
  address, then the rightful login from another address and the admin's client_credentials token
  succeed at once;
- a disabled account's access token (and a deleted client's) is refused by a service reached
  directly within 5 s, also after that service restarts.

Client addresses are told apart with ``X-Forwarded-For`` (the test runs on loopback, which the
gateway trusts as a proxy by default); every other request of the module gets an address of its
own, so that only the lockout test meets the (default) login limits.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import re
import time

import httpx
import pytest

from devtools.testing.platform import Platform, started_platform
from devtools.testing.wait import eventually
from tests.conftest import SYSTEM_NATS, Backend
from tests.gateway.helpers import ADMIN_ID, ADMIN_SECRET, authorize_query, bearer, code_of, pkce
from tests.gateway.test_oauth import claims_of
from tests.identity.helpers import PASSWORD, assert_problem, fresh_uscc, unique
from tests.security.world import contract_body, enterprise_body
from tests.story import approved_agency

REGISTRY_DLQ = "/api/v1/admin/dlq"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
async def platform(request, tmp_path_factory, embedded_nats):
    tmp = tmp_path_factory.mktemp(f"identity-{request.param}")
    backend = Backend(request.param, tmp, embedded_nats.url if request.param == "sqlite" else SYSTEM_NATS)
    settings = backend.settings(
        auth_rate_limit=10, auth_rate_window_seconds=600, proxy_rate_burst=100_000, proxy_rate_per_second=100_000
    )
    async with started_platform(settings, tmp / "logs") as running:

        async def own_address(req: httpx.Request) -> None:
            if "x-forwarded-for" not in req.headers:
                req.headers["X-Forwarded-For"] = ".".join(str(random.randint(1, 254)) for _ in range(4))

        running.client.event_hooks["request"] = [own_address]
        yield running
    await backend.cleanup()


async def _pkce_login(p: Platform, username: str, password: str, address: str) -> httpx.Response:
    verifier, challenge = pkce()
    query = authorize_query(challenge)
    page = await p.client.get(f"/oauth/authorize?{query}", headers={"X-Forwarded-For": address})
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = await p.client.post(
        f"/oauth/authorize?{query}",
        data={"username": username, "password": password, "csrf": csrf},
        headers={"X-Forwarded-For": address},
    )
    r.verifier = verifier  # type: ignore[attr-defined]
    return r


async def _approved_agency(p: Platform, bureau: dict[str, str]) -> tuple[str, str, object]:
    uscc, agency_id, agency = await approved_agency(p, bureau)
    assert claims_of(agency.token)["org_status"] == "verified"
    return uscc, agency_id, agency


async def test_the_attackers_sequence_gets_nowhere(platform):
    p, api = platform, platform.client
    bureau = await p.actor("bureau", district="440703")
    victim_uscc, victim_id, victim = await _approved_agency(p, bureau.headers)

    async def listed():
        items = (await api.get("/api/v1/directory/agencies", params={"limit": 200})).json()["items"]
        return next((i for i in items if i["id"] == victim_id), None)

    entry = await eventually(listed, timeout=20)
    assert entry["uscc"] == victim_uscc  # the directory publishes it …
    attacker_name = unique("attacker")
    attacker = await api.post(
        "/api/v1/accounts",
        json={
            "username": attacker_name,
            "password": PASSWORD,
            "role": "agency",
            "org_uscc": entry["uscc"],
            "display_name": "x",
        },
    )
    assert_problem(attacker, 409, "organisation_exists")  # … and sign-up with it gets nowhere
    assert (await _pkce_login(p, attacker_name, PASSWORD, "198.51.100.200")).status_code == 401  # no account to log in

    # a stolen invitation: the rightful invitee used it; the thief's second use fails
    code = (await api.post(f"/api/v1/organisations/{victim_uscc}/invitations", json={}, headers=victim.headers)).json()[
        "code"
    ]
    colleague = await api.post(
        "/api/v1/accounts",
        json={
            "username": unique("colleague"),
            "password": PASSWORD,
            "role": "agency",
            "org_uscc": victim_uscc,
            "display_name": "x",
            "invitation": code,
        },
    )
    assert colleague.status_code == 201 and colleague.json()["org_status"] == "verified"
    thief = await api.post(
        "/api/v1/accounts",
        json={
            "username": unique("thief"),
            "password": PASSWORD,
            "role": "agency",
            "org_uscc": victim_uscc,
            "display_name": "x",
            "invitation": code,
        },
    )
    assert_problem(thief, 409, "invitation_invalid")

    # an impostor claims a fresh USCC first (an enterprise the bureau registered, with no account yet)
    claimed = fresh_uscc("440703")
    registered = await api.post(
        "/api/v1/enterprises", json=enterprise_body(claimed, f"企业{claimed[-5:]}", "440703"), headers=bureau.headers
    )
    assert registered.status_code == 201, registered.text
    impostor = await p.actor("enterprise", org_uscc=claimed, verified=False)
    assert claims_of(impostor.token)["org_status"] == "pending"
    enterprise_id = registered.json()["id"]
    patch = await api.patch(
        f"/api/v1/enterprises/{enterprise_id}", json={"contact_name": "冒领人"}, headers=impostor.headers
    )
    assert_problem(patch, 403, "organisation_unverified")
    owner = (
        await api.post(
            "/api/v1/admin/accounts",
            json={"username": unique("owner"), "password": PASSWORD, "role": "enterprise", "org_uscc": claimed},
            headers=await p.admin_headers(),
        )
    ).json()
    r = await api.post(
        f"/api/v1/organisations/{claimed}/reassign",
        json={"account_id": owner["id"], "reason": "冒领"},
        headers=bureau.headers,
    )
    assert r.status_code == 200, r.text
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=p.service_url("enterprises")) as direct:

        async def refused_directly():
            r = await direct.get(f"/api/v1/enterprises/{enterprise_id}", headers=impostor.headers)
            return r.status_code == 401

        await eventually(refused_directly, timeout=5, interval=0.1)
    assert time.monotonic() - started < 5
    assert_problem(
        await api.get(f"/api/v1/enterprises/{enterprise_id}", headers=impostor.headers), 401, "token_revoked"
    )
    assert (
        await api.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=(impostor.client_id, impostor.client_secret)
        )
    ).status_code == 401
    rightful = await _pkce_login(p, owner["username"], PASSWORD, "203.0.113.30")
    code, _ = code_of(rightful)
    tokens = await api.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "http://127.0.0.1:53682/callback",
            "client_id": "custody-cli",
            "code_verifier": rightful.verifier,
        },
    )
    owner_h = bearer(tokens.json()["access_token"])
    fixed = await api.patch(
        f"/api/v1/enterprises/{enterprise_id}", json={"contact_name": "法定代表人"}, headers=owner_h
    )
    assert fixed.status_code == 200, fixed.text


async def test_an_unverified_enterprise_cannot_contract_confirm_or_rectify(platform):
    p, api = platform, platform.client
    bureau = await p.actor("bureau", district="440703")
    _, agency_id, agency = await _approved_agency(p, bureau.headers)
    uscc = fresh_uscc("440703")
    enterprise = await p.actor("enterprise", org_uscc=uscc)
    assert (
        await api.post(
            "/api/v1/enterprises", json=enterprise_body(uscc, f"企业{uscc[-5:]}", "440703"), headers=enterprise.headers
        )
    ).status_code == 201

    async def drafted():
        r = await api.post("/api/v1/contracts", json=contract_body(uscc, agency_id), headers=enterprise.headers)
        return r.json() if r.status_code == 201 else None

    contract = await eventually(drafted, timeout=30, interval=0.3)
    cid, terms = contract["id"], {"content_sha256": contract["content_sha256"]}
    for party in (enterprise, agency):
        assert (await api.post(f"/api/v1/contracts/{cid}/sign", json=terms, headers=party.headers)).status_code == 200
    assert (await api.post(f"/api/v1/contracts/{cid}/file", headers=agency.headers)).status_code == 200
    assert (
        await api.post(
            f"/api/v1/contracts/{cid}/filing-review",
            json={"decision": "accept", "comments": "ok"},
            headers=bureau.headers,
        )
    ).status_code == 200
    today = dt.date.today()

    async def logged():
        r = await api.post(
            "/api/v1/service-logs",
            headers=agency.headers,
            json={
                "contract_id": cid,
                "visit_date": today.isoformat(),
                "engineer_name": "陈工",
                "items": ["hazard_inspection"],
                "summary": "检查",
                "hazards": [
                    {
                        "description": "配电箱未接地",
                        "level": "general",
                        "location": "车间",
                        "deadline": (today + dt.timedelta(days=20)).isoformat(),
                    }
                ],
            },
        )
        return r.json() if r.status_code == 201 else None

    log = await eventually(logged, timeout=30, interval=0.3)
    hazard_id = log["hazards"][0]["id"]
    verified_headers = enterprise.headers
    # the bureau suspends the enterprise's organisation: its old token dies, its new one says so
    assert (
        await api.post(f"/api/v1/organisations/{uscc}/suspend", json={"reason": "核查"}, headers=bureau.headers)
    ).status_code == 200
    suspended = bearer(await p.token(enterprise.client_id, enterprise.client_secret))
    assert claims_of(suspended["Authorization"][7:])["org_status"] == "suspended"
    attempts = {
        "create a contract": ("POST", "/api/v1/contracts", contract_body(uscc, agency_id)),
        "sign a contract": ("POST", f"/api/v1/contracts/{cid}/sign", terms),
        "file a contract": ("POST", f"/api/v1/contracts/{cid}/file", None),
        "confirm a visit": ("POST", f"/api/v1/service-logs/{log['id']}/confirm", None),
        "rectify a hazard": ("POST", f"/api/v1/hazards/{hazard_id}/rectify", {"note": "已整改"}),
        "complain": ("POST", "/api/v1/complaints", {"agency_id": agency_id, "category": "other", "description": "x"}),
        "edit its record": (
            "PATCH",
            "/api/v1/enterprises/"
            + (await api.get(f"/api/v1/enterprises/by-uscc/{uscc}", headers=suspended)).json()["id"],
            {"contact_name": "x"},
        ),
    }
    for name, (method, path, body) in attempts.items():
        r = await api.request(method, path, json=body, headers=suspended)
        assert_problem(r, 403, "organisation_unverified"), name
        assert r.json()["org_status"] == "suspended"
        stale = await api.request(method, path, json=body, headers=verified_headers)
        assert stale.status_code == 401, (name, stale.status_code)  # the token from before the suspension
    # reading its own records still works
    assert (await api.get(f"/api/v1/contracts/{cid}", headers=suspended)).status_code == 200
    # a pending enterprise: may register its own record, nothing else
    pending_uscc = fresh_uscc("440703")
    pending = await p.actor("enterprise", org_uscc=pending_uscc, verified=False)
    own = await api.post(
        "/api/v1/enterprises", json=enterprise_body(pending_uscc, "待核验企业", "440703"), headers=pending.headers
    )
    assert own.status_code == 201, own.text
    assert_problem(
        await api.post("/api/v1/contracts", json=contract_body(pending_uscc, agency_id), headers=pending.headers),
        403,
        "organisation_unverified",
    )
    assert_problem(
        await api.patch(f"/api/v1/enterprises/{own.json()['id']}", json={"contact_name": "x"}, headers=pending.headers),
        403,
        "organisation_unverified",
    )
    # straight at the service too (no gateway in between)
    async with httpx.AsyncClient(base_url=p.service_url("contracts")) as direct:
        straight = await direct.post(
            "/api/v1/contracts", json=contract_body(pending_uscc, agency_id), headers=pending.headers
        )
        assert_problem(straight, 403, "organisation_unverified")
        english = await direct.post("/api/v1/contracts", json={}, headers={**pending.headers, "Accept-Language": "en"})
        assert "not verified" in english.json()["detail"]


async def test_failures_of_one_address_never_lock_out_the_rightful_owner(platform):
    p, api = platform, platform.client
    bureau_account = (
        await api.post(
            "/api/v1/admin/accounts",
            json={"username": unique("bureau"), "password": PASSWORD, "role": "bureau", "district": "440703"},
            headers=await p.admin_headers(),
        )
    ).json()
    attacker = "198.51.100.99"
    for i in range(25):
        await api.post(
            "/oauth/token",
            data={"grant_type": "refresh_token", "refresh_token": f"junk-{i}", "client_id": "custody-cli"},
            headers={"X-Forwarded-For": attacker},
        )
    for _ in range(15):
        await _pkce_login(p, bureau_account["username"], "wrong-password", attacker)
    assert (await _pkce_login(p, bureau_account["username"], PASSWORD, attacker)).status_code == 429
    started = time.monotonic()
    rightful = await _pkce_login(p, bureau_account["username"], PASSWORD, "203.0.113.77")
    code, _ = code_of(rightful)
    token = await api.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "http://127.0.0.1:53682/callback",
            "client_id": "custody-cli",
            "code_verifier": rightful.verifier,
        },
        headers={"X-Forwarded-For": "203.0.113.77"},
    )
    assert token.status_code == 200, token.text
    admin = await api.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(ADMIN_ID, ADMIN_SECRET),
        headers={"X-Forwarded-For": "203.0.113.78"},
    )
    assert admin.status_code == 200, admin.text
    assert time.monotonic() - started < 5  # at once: no waiting for a window to pass


async def test_a_disabled_accounts_token_is_refused_by_a_service_reached_directly_within_5_s(platform):
    p, api = platform, platform.client
    bureau = await p.actor("bureau", district="440703")
    other = await p.actor("bureau", district="440704")
    admin = await p.admin_headers()
    async with (
        httpx.AsyncClient(base_url=p.service_url("registry")) as registry,
        httpx.AsyncClient(base_url=p.service_url("audit")) as audit,
    ):
        for service in (registry, audit):
            assert (
                await service.get(
                    "/api/v1/agencies" if service is registry else "/api/v1/hazards", headers=bureau.headers
                )
            ).status_code == 200  # verified and cached
        r = await api.post(
            f"/api/v1/admin/accounts/{bureau.account['id']}/disable", json={"reason": "离职"}, headers=admin
        )
        assert r.status_code == 200
        started = time.monotonic()

        async def refused():
            a = await registry.get("/api/v1/agencies", headers=bureau.headers)
            b = await audit.get("/api/v1/hazards", headers=bureau.headers)
            return a.status_code == 401 and b.status_code == 401

        await eventually(refused, timeout=5, interval=0.05)
        elapsed = time.monotonic() - started
        assert elapsed < 5, elapsed
        from tests.faults.helpers import record

        record(
            "disabled-account-refused-directly",
            backend=(p.settings.database_url and "postgres") or "sqlite",
            seconds=round(elapsed, 3),
        )
        assert (await registry.get("/api/v1/agencies", headers=other.headers)).status_code == 200  # others unaffected
        # a deleted client's token too
        creds = (
            await api.post("/api/v1/admin/clients", json={"username": other.username, "name": "erp"}, headers=admin)
        ).json()
        erp = bearer(await p.token(creds["client_id"], creds["client_secret"]))
        assert (await audit.get("/api/v1/hazards", headers=erp)).status_code == 200
        assert (await api.delete(f"/api/v1/admin/clients/{creds['client_id']}", headers=admin)).status_code == 204

        async def client_refused():
            return (await audit.get("/api/v1/hazards", headers=erp)).status_code == 401

        await eventually(client_refused, timeout=5, interval=0.05)
        assert (await audit.get("/api/v1/hazards", headers=other.headers)).status_code == 200
    # a restarted service replays the recent revocations: it still refuses the disabled account's token
    component = next(c for c in p.supervisor.components if c.name == "registry")
    component.stop()
    component.start()
    await asyncio.to_thread(component.wait_ready, 60)
    async with httpx.AsyncClient(base_url=p.service_url("registry")) as registry:
        assert (await registry.get("/api/v1/agencies", headers=bureau.headers)).status_code == 401
        assert (await registry.get("/api/v1/agencies", headers=other.headers)).status_code == 200
    # enabled again: a new token works, the old one stays dead
    assert (
        await api.post(f"/api/v1/admin/accounts/{bureau.account['id']}/enable", json={"reason": "复职"}, headers=admin)
    ).status_code == 200
    fresh = bearer(await p.token(bureau.client_id, bureau.client_secret))
    assert (await api.get("/api/v1/agencies", headers=fresh)).status_code == 200
    assert (await api.get("/api/v1/agencies", headers=bureau.headers)).status_code == 401
