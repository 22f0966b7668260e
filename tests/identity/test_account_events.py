"""The gateway announces accounts on the bus (``account.*``, SPEC §15: notify addresses people by
them alone), in process on both backends, read back from the real stream: every way an account is
made, every change notify needs (PATCH /api/v1/me, disable and enable, removal from an
organisation, reassignment), each with a growing ``version``; and, once, the accounts that
existed before the gateway announced any (version 0), across restarts and concurrent replicas.
Through the real processes and notify: tests/notify/test_platform.py."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from devtools.testing.events import read_events
from devtools.testing.wait import eventually
from shared.db import Database
from tests.gateway.conftest import gateway_settings, running_gateway
from tests.gateway.helpers import ADMIN_ID, bearer
from tests.identity.helpers import (
    admin_account,
    admin_headers,
    assert_problem,
    bureau,
    fresh_uscc,
    signup,
    token,
    verify,
)

ACCOUNT_FIELDS = ("username", "role", "org_uscc", "district", "email", "language", "display_name")


async def account_events(settings: Any, account_id: str, *, count: int, timeout: float = 10) -> list[Any]:
    """The ``account.*`` events of one account, oldest first, once there are ``count`` of them."""

    async def found() -> list[Any] | None:
        events = [
            e for e in await read_events(settings) if e.type.startswith("account.") and e.data["id"] == account_id
        ]
        return events if len(events) >= count else None

    events: list[Any] = await eventually(found, timeout=timeout)
    return events


async def test_every_way_an_account_is_made_announces_it(gateway, backend):
    settings = backend.settings()
    uscc = fresh_uscc("440703")
    first = (await signup(gateway, "enterprise", uscc)).json()
    await verify(gateway, uscc, await admin_headers(gateway))
    owner = bearer(await token(gateway, first["username"]))
    code = (await gateway.post(f"/api/v1/organisations/{uscc}/invitations", json={}, headers=owner)).json()["code"]
    joined = (await signup(gateway, "enterprise", uscc, invitation=code)).json()
    bureau_account = await admin_account(gateway, "bureau", district="440705")
    agency_uscc = fresh_uscc("440704")
    agency = await admin_account(gateway, "agency", org_uscc=agency_uscc)

    for made, expected in (
        (first, {"role": "enterprise", "org_uscc": uscc, "district": None}),
        (joined, {"role": "enterprise", "org_uscc": uscc}),
        (bureau_account, {"role": "bureau", "district": "440705", "org_uscc": None}),
        (agency, {"role": "agency", "org_uscc": agency_uscc}),
    ):
        [event] = await account_events(settings, made["id"], count=1)
        assert event.type == "account.registered"
        assert event.source == "/gateway"
        assert event.subject == made["id"]
        assert event.data["version"] == 1
        assert event.data["username"] == made["username"]
        assert event.data["email"] is None
        assert event.data["language"] is None
        assert {k: event.data[k] for k in expected} == expected, event.data

    async def bootstrap_admin() -> list[Any]:
        return [
            e for e in await read_events(settings, event_type="account.registered") if e.data["username"] == ADMIN_ID
        ]

    [admin] = await eventually(bootstrap_admin, timeout=10)
    assert admin.data["role"] == "admin"
    assert admin.data["version"] == 1


async def test_patch_me_sets_email_language_and_display_name(gateway, backend):
    settings = backend.settings()
    account = (await signup(gateway, "agency", fresh_uscc())).json()
    me = bearer(await token(gateway, account["username"]))
    got = await gateway.get("/api/v1/me", headers=me)
    assert got.status_code == 200
    assert got.headers["etag"] == '"1"'
    assert got.json()["email"] is None
    assert got.json()["language"] is None
    assert got.json()["version"] == 1

    r = await gateway.patch(
        "/api/v1/me",
        json={"email": " Safety.Officer@Example.COM ", "language": "en", "display_name": "安全员 王"},
        headers={**me, "If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["email"] == "Safety.Officer@example.com"
    assert body["language"] == "en"
    assert body["display_name"] == "安全员 王"
    assert body["version"] == 2
    assert r.headers["etag"] == '"2"'
    assert body["username"] == account["username"]
    assert body["org_status"] == "pending"
    assert body["scopes"]
    again = (await gateway.get("/api/v1/me", headers=me)).json()
    assert {k: again[k] for k in ("email", "language", "display_name", "version")} == {
        "email": "Safety.Officer@example.com",
        "language": "en",
        "display_name": "安全员 王",
        "version": 2,
    }

    # a stale If-Match: 412, nothing changed
    stale = await gateway.patch("/api/v1/me", json={"language": "zh-CN"}, headers={**me, "If-Match": '"1"'})
    assert_problem(stale, 412, "precondition_failed")
    # clearing the address; without If-Match
    cleared = await gateway.patch("/api/v1/me", json={"email": None}, headers=me)
    assert cleared.status_code == 200
    assert cleared.json()["email"] is None
    assert cleared.json()["version"] == 3
    # nothing changes: no new version, no event
    same = await gateway.patch("/api/v1/me", json={"language": "en"}, headers=me)
    assert same.status_code == 200
    assert same.json()["version"] == 3
    assert same.headers["etag"] == '"3"'

    events = await account_events(settings, account["id"], count=3)
    assert [(e.type, e.data["version"]) for e in events] == [
        ("account.registered", 1),
        ("account.updated", 2),
        ("account.updated", 3),
    ]
    assert events[1].data["email"] == "Safety.Officer@example.com"
    assert events[1].data["language"] == "en"
    assert events[1].data["display_name"] == "安全员 王"
    assert events[1].data["org_uscc"] == account["org_uscc"]
    assert events[2].data["email"] is None
    assert events[2].data["language"] == "en"
    await asyncio.sleep(0.6)
    assert len(await account_events(settings, account["id"], count=3)) == 3


async def test_patch_me_refuses_what_is_not_an_address_or_a_language(sqlite_gateway):
    gw = sqlite_gateway
    account = (await signup(gw, "enterprise", fresh_uscc())).json()
    me = bearer(await token(gw, account["username"]))
    for body, field in (
        ({"email": "not-an-address"}, "email"),
        ({"email": "a@b"}, "email"),
        ({"email": "two@@example.com"}, "email"),
        ({"email": "spaces in@example.com"}, "email"),
        ({"email": "ctl\u0007@example.com"}, "email"),
        ({"email": "line@example.com\nBcc: x@example.com"}, "email"),
        ({"email": "a" * 65 + "@example.com"}, "email"),
        ({"email": "x@" + "d" * 250 + ".com"}, "email"),
        ({"email": 42}, "email"),
        ({"language": "fr"}, "language"),
        ({"language": "zh"}, "language"),
        ({"display_name": "   "}, "display_name"),
        ({"display_name": None}, "display_name"),
        ({"display_name": "x" * 201}, "display_name"),
        ({"role": "admin"}, "role"),
    ):
        r = await gw.patch("/api/v1/me", json=body, headers=me)
        problem = assert_problem(r, 422, "validation_failed")
        assert any(field in e["field"] for e in problem["errors"]), (body, problem)
    assert (
        await gw.patch("/api/v1/me", content=b"email=x", headers={**me, "Content-Type": "text/plain"})
    ).status_code == 415
    assert (
        await gw.patch("/api/v1/me", content=b"{", headers={**me, "Content-Type": "application/json"})
    ).status_code == 400
    assert (await gw.patch("/api/v1/me", json=["email"], headers=me)).status_code == 422
    assert (await gw.patch("/api/v1/me", json={"email": "x@example.com"})).status_code == 401
    english = await gw.patch("/api/v1/me", json={"language": "de"}, headers={**me, "Accept-Language": "en"})
    assert english.status_code == 422
    assert "zh-CN" in english.text
    assert (await gw.get("/api/v1/me", headers=me)).json()["version"] == 1  # none of it changed anything
    # an internationalised domain is kept as its A-labels, which any SMTP server takes
    idn = await gw.patch("/api/v1/me", json={"email": "anquan@例子.中国"}, headers=me)
    assert idn.status_code == 200, idn.text
    assert idn.json()["email"] == "anquan@xn--fsqu00a.xn--fiqs8s"
    assert_problem(await gw.patch("/api/v1/me", json={"email": "x@例子..中国"}, headers=me), 422, "validation_failed")
    # a read-only token cannot write its settings
    from tests.gateway.helpers import authorize_query, code_of, login, pkce

    verifier, challenge = pkce()
    page = await login(
        gw, authorize_query(challenge, scope="custody.read"), account["username"], "correct horse battery"
    )
    tokens = await gw.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code_of(page)[0],
            "redirect_uri": "http://127.0.0.1:53682/callback",
            "client_id": "custody-cli",
            "code_verifier": verifier,
        },
    )
    read_only = bearer(tokens.json()["access_token"])
    assert_problem(await gw.patch("/api/v1/me", json={"language": "en"}, headers=read_only), 403, "insufficient_scope")


async def test_disable_enable_and_removal_are_announced(gateway, backend):
    settings = backend.settings()
    admin = await admin_headers(gateway)
    target = await admin_account(gateway, "bureau", district="440703")
    r = await gateway.post(f"/api/v1/admin/accounts/{target['id']}/disable", json={"reason": "离职"}, headers=admin)
    assert r.status_code == 200
    r = await gateway.post(f"/api/v1/admin/accounts/{target['id']}/enable", json={"reason": "返岗"}, headers=admin)
    assert r.status_code == 200
    events = await account_events(settings, target["id"], count=3)
    assert [(e.type, e.data["version"]) for e in events] == [
        ("account.registered", 1),
        ("account.disabled", 2),
        ("account.enabled", 3),
    ]
    assert events[1].data["district"] == "440703"

    # a member removed by its organisation's admin
    uscc = fresh_uscc("440703")
    owner = await admin_account(gateway, "agency", org_uscc=uscc)
    owner_h = bearer(await token(gateway, owner["username"]))
    code = (await gateway.post(f"/api/v1/organisations/{uscc}/invitations", json={}, headers=owner_h)).json()["code"]
    member = (await signup(gateway, "agency", uscc, invitation=code)).json()
    r = await gateway.patch(
        "/api/v1/me", json={"email": "m@example.com"}, headers=bearer(await token(gateway, member["username"]))
    )
    assert r.status_code == 200
    assert (
        await gateway.delete(f"/api/v1/organisations/{uscc}/members/{member['id']}", headers=owner_h)
    ).status_code == 204
    events = await account_events(settings, member["id"], count=3)
    assert [(e.type, e.data["version"]) for e in events] == [
        ("account.registered", 1),
        ("account.updated", 2),
        ("account.removed", 3),
    ]
    assert events[2].data["org_uscc"] is None
    assert events[2].data["email"] == "m@example.com"


async def test_reassignment_announces_the_removed_admin_and_its_invitees(gateway, backend):
    settings = backend.settings()
    uscc = fresh_uscc("440703")
    impostor = (await signup(gateway, "enterprise", uscc)).json()
    own = await bureau(gateway, "440703")
    await verify(gateway, uscc, own)
    impostor_h = bearer(await token(gateway, impostor["username"]))
    code = (await gateway.post(f"/api/v1/organisations/{uscc}/invitations", json={}, headers=impostor_h)).json()["code"]
    accomplice = (await signup(gateway, "enterprise", uscc, invitation=code)).json()
    owner = await admin_account(gateway, "enterprise", org_uscc=uscc)
    r = await gateway.post(
        f"/api/v1/organisations/{uscc}/reassign", json={"account_id": owner["id"], "reason": "冒领"}, headers=own
    )
    assert r.status_code == 200, r.text
    for removed in (impostor, accomplice):
        events = await account_events(settings, removed["id"], count=2)
        assert [(e.type, e.data["version"]) for e in events] == [("account.registered", 1), ("account.removed", 2)]
        assert events[1].data["org_uscc"] is None
    await asyncio.sleep(0.6)
    assert [e.type for e in await account_events(settings, owner["id"], count=1)] == ["account.registered"]


async def _old_accounts(db: Database, count: int) -> list[uuid.UUID]:
    """Accounts written as before the announcements (no version: the column's default, 0)."""
    ids = [uuid.uuid4() for _ in range(count)]
    at = datetime(2026, 1, 1, tzinfo=UTC)
    async with db.engine.begin() as conn:
        for n, account_id in enumerate(ids):
            disabled = n == 0
            await conn.execute(
                sa.text(
                    "INSERT INTO accounts (id, username, username_key, role, district, disabled, created_at) "
                    "VALUES (:id, :u, :u, 'bureau', '440703', :disabled, :at)"
                ),
                {
                    "id": account_id.hex if db.is_sqlite else account_id,
                    "u": f"old-{account_id.hex[:12]}",
                    "disabled": disabled,
                    "at": at,
                },
            )
    return ids


async def test_accounts_from_before_are_announced_once_across_restarts_and_replicas(backend, monkeypatch):
    from gateway import accounts
    from gateway.main import create_app

    monkeypatch.setattr(accounts, "ANNOUNCE_BATCH", 2)  # several batches
    settings = gateway_settings(backend)
    db = Database(settings.database_url_for("gateway"), service="gateway")
    try:
        async with running_gateway(settings):
            pass  # migrated, bootstrap admin made
        raced = await _old_accounts(db, 5)
        # two replicas announcing at the same time: on PostgreSQL both read the same rows, then
        # queue on their locks (held here until both wait), so both try to claim the same accounts
        replicas = [create_app(settings), create_app(settings)]
        async with db.engine.connect() as holder:
            if not db.is_sqlite:
                await holder.execute(sa.text("SELECT id FROM accounts WHERE version = 0 FOR UPDATE"))
            racing = [asyncio.create_task(accounts.announce_existing(app.state.runtime)) for app in replicas]
            if not db.is_sqlite:

                async def both_wait() -> bool:
                    waiting = await db.engine.connect()
                    try:
                        return (
                            await waiting.execute(
                                sa.text(
                                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                    "AND wait_event_type = 'Lock'"
                                )
                            )
                        ).scalar() == 2
                    finally:
                        await waiting.close()

                await eventually(both_wait, timeout=10)
            await holder.rollback()
        counts = await asyncio.gather(*racing)
        for app in replicas:
            await app.state.runtime.db.dispose()
        assert sum(counts) == 5, counts
        at_start = await _old_accounts(db, 3)
        async with running_gateway(settings):  # announces those at start, publishes all of them
            for account_id in [*raced, *at_start]:
                await account_events(settings, str(account_id), count=1)
        async with running_gateway(settings) as gw:  # a restart announces nobody again
            await account_events(settings, str(raced[0]), count=2)
            await asyncio.sleep(0.6)
            admin = bearer(
                (
                    await gw.post(
                        "/oauth/token",
                        data={"grant_type": "client_credentials"},
                        auth=(ADMIN_ID, settings.admin_client_secret),
                    )
                ).json()["access_token"]
            )
            listed = (await gw.get("/api/v1/admin/accounts", params={"q": "old-"}, headers=admin)).json()["items"]
        everything = [e for e in await read_events(settings) if e.type.startswith("account.")]
        for account_id in [*raced, *at_start]:
            mine = [e for e in everything if e.data["id"] == str(account_id)]
            registered = [e for e in mine if e.type == "account.registered"]
            assert len(registered) == 1, mine  # once, whatever the restarts and replicas
            assert registered[0].data["version"] == 1
            assert registered[0].data["district"] == "440703"
            assert registered[0].data["role"] == "bureau"
            assert registered[0].subject == str(account_id)
        # a disabled one is announced as such, so that notify tells it nothing
        for disabled in (raced[0], at_start[0]):
            mine = [e for e in everything if e.data["id"] == str(disabled)]
            assert [(e.type, e.data["version"]) for e in mine] == [("account.registered", 1), ("account.disabled", 2)]
        assert {a["username"] for a in listed} >= {f"old-{i.hex[:12]}" for i in [*raced, *at_start]}
        async with db.engine.connect() as conn:
            versions = (await conn.execute(sa.text("SELECT version FROM accounts"))).scalars().all()
        assert 0 not in versions
    finally:
        await db.dispose()
