"""The audit trail proves its own completeness (issue #16 item 8, docs/DECISIONS.md D32).

Every append emits ``audittrail.advanced`` {service, seq, hash, at} through the outbox; the witness
(audit for every other service, registry for audit) keeps each head; ``verify`` checks that the
local chain reaches the witnessed head. Through the real platform (processes, gateway, bus) on both
backends: an untouched trail is valid; deleting its last row, re-appending after that, or emptying
it is reported; a stopped witness gives ``unavailable`` quickly, never a hang or a 500. Then the
read endpoint (keyset by ``seq``) and who may call it; and in-process: the event is written exactly
when the row is (a rolled-back act emits nothing), and a witness that never answers is cut off.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import threading
import time

import pytest
import sqlalchemy as sa

from devtools.testing.apps import running
from devtools.testing.platform import Platform, started_platform
from devtools.testing.tokens import auth
from devtools.testing.wait import eventually
from shared.db import Database
from shared.events.catalog import EventType
from shared.tables import infrastructure_tables
from tests.faults.fakes import writer_app
from tests.registry.factories import agency_body, new_uscc

VERIFY = "/api/v1/admin/audit-trail/verify"
TRAIL = "/api/v1/admin/audit-trail"
HEADS = "/api/v1/admin/audit-trail/heads"


async def _verify(platform: Platform, service: str) -> dict:
    r = await platform.client.get(VERIFY, params={"service": service}, headers=await platform.admin_headers())
    assert r.status_code == 200, r.text
    return r.json()


async def _witnessed(platform: Platform, service: str) -> dict:
    """``verify`` once the witness holds the trail's current head (its event is on its way)."""

    async def caught_up():
        result = await _verify(platform, service)
        head, witness = result.get("head"), result["witness"]
        return result if head and witness.get("seq") == head["seq"] else None

    result: dict = await eventually(caught_up, timeout=30, interval=0.3)
    return result


T = infrastructure_tables(sa.MetaData()).audit_trail  # every service's trail table


async def _tamper(platform: Platform, service: str, seq: int | None = None) -> list[int]:
    """Delete trail rows behind the service's back (the one at ``seq``, or all); their seqs."""
    db = Database(platform.settings.database_url_for(service), service=service)
    t = T
    try:
        async with db.transaction() as s:
            cond = t.c.seq == seq if seq is not None else sa.true()
            seqs = [r.seq for r in await s.execute(sa.select(t.c.seq).where(cond).order_by(t.c.seq))]
            await s.execute(sa.delete(t).where(cond))
    finally:
        await db.dispose()
    return seqs


async def _last_seq(platform: Platform, service: str) -> int:
    db = Database(platform.settings.database_url_for(service), service=service)
    t = T
    try:
        async with db.reader() as s:
            value = (await s.execute(sa.select(sa.func.max(t.c.seq)))).scalar()
    finally:
        await db.dispose()
    assert value is not None
    return int(value)


@pytest.fixture
async def platform(backend, tmp_path):
    async with started_platform(
        backend.settings(auth_rate_limit=1000, proxy_rate_burst=10_000, proxy_rate_per_second=10_000), tmp_path / "logs"
    ) as running_platform:
        yield running_platform


async def test_the_witnessed_head_makes_truncation_visible(platform: Platform):
    api, admin = platform.client, await platform.admin_headers()
    uscc = new_uscc()
    agency = await platform.actor("agency", org_uscc=uscc)
    bureau = await platform.actor("bureau", district="440703")
    r = await api.post("/api/v1/agencies", json=agency_body(uscc), headers=agency.headers)
    assert r.status_code == 201, r.text
    path = f"/api/v1/agencies/{r.json()['id']}"
    agency_id = r.json()["id"]
    assert (await api.post(f"{path}/submit", headers=agency.headers)).status_code == 200
    r = await api.post(f"{path}/review", json={"decision": "approve", "comments": "ok"}, headers=bureau.headers)
    assert r.status_code == 200, r.text
    for act in ("suspend", "reinstate", "suspend", "reinstate"):
        r = await api.post(f"{path}/{act}", json={"reason": f"{act} 检查"}, headers=bureau.headers)
        assert r.status_code == 200, r.text

    # An act on the audit service's trail: a complaint resolved (its witness is the registry).
    async def complained():
        r = await api.post(
            "/api/v1/complaints",
            json={
                "agency_id": agency_id,
                "category": "service_quality",
                "description": "检查走过场",
                "contact_phone": "13800138000",
            },
        )
        return r.json() if r.status_code == 201 else None

    complaint = await eventually(complained, timeout=30, interval=0.3)
    r = await api.post(
        f"/api/v1/complaints/{complaint['id']}/resolve",
        json={"outcome": "dismissed", "notes": "ok"},
        headers=bureau.headers,
    )
    assert r.status_code == 200, r.text

    # Untouched: valid, and the chain reaches the head its witness holds.
    registry = await _witnessed(platform, "registry")
    assert registry["valid"] is True and registry["reason"] is None, registry
    assert registry["entries"] == 5 and registry["witness"]["service"] == "audit", registry
    assert registry["witness"]["status"] == "ok" and registry["witness"]["hash"] == registry["head"]["hash"]
    audit = await _witnessed(platform, "audit")
    assert audit["valid"] is True and audit["witness"]["service"] == "registry", audit
    r = await api.get(HEADS, params={"service": "audit"}, headers=admin)
    assert r.status_code == 200, r.text
    assert {h["service"]: h["seq"] for h in r.json()["heads"]}["registry"] == registry["head"]["seq"]
    assert "audit" not in {h["service"] for h in r.json()["heads"]}  # nobody witnesses itself
    r = await api.get(HEADS, params={"service": "registry"}, headers=admin)
    assert [h["service"] for h in r.json()["heads"]] == ["audit"]
    assert (await api.get(HEADS, params={"service": "audit"}, headers=bureau.headers)).status_code == 403

    # 1. The last row deleted: no link breaks, but the witnessed row is gone.
    witnessed_seq = registry["head"]["seq"]
    deleted = await _tamper(platform, "registry", witnessed_seq)
    assert deleted == [witnessed_seq]
    tail = await _verify(platform, "registry")
    assert tail["valid"] is False and tail["reason"] == "truncated", tail
    assert tail["witnessed_seq"] == witnessed_seq and tail["entries"] == 4 and tail["first_broken_seq"] is None

    # 2. … and a new act appended after it: it reuses the seq with another hash, which the
    # witness does not take — the trail still does not reach the witnessed head.
    r = await api.post(f"{path}/suspend", json={"reason": "再次暂停"}, headers=bureau.headers)
    assert r.status_code == 200, r.text
    assert await _last_seq(platform, "registry") == witnessed_seq
    await asyncio.sleep(1.5)  # its event has been delivered (and ignored)
    forked = await _verify(platform, "registry")
    assert forked["valid"] is False and forked["reason"] == "diverged", forked
    assert forked["witness"]["seq"] == witnessed_seq and forked["witness"]["hash"] == registry["head"]["hash"]

    # 3. The whole trail emptied (registry and audit).
    assert len(await _tamper(platform, "registry")) == 5
    empty = await _verify(platform, "registry")
    assert empty["valid"] is False and empty["reason"] == "truncated" and empty["entries"] == 0, empty
    assert empty["witnessed_seq"] == witnessed_seq
    assert await _tamper(platform, "audit")
    empty = await _verify(platform, "audit")
    assert empty["valid"] is False and empty["reason"] == "truncated", empty

    # 4. The witness stopped: verify says so, at once, and claims nothing.
    platform.supervisor.component("audit").stop()
    started = time.monotonic()
    down = await _verify(platform, "enterprises")
    assert time.monotonic() - started < 5
    assert down["valid"] is None and down["reason"] == "witness_unavailable", down
    assert down["witness"] == {"service": "audit", "status": "unavailable", "detail": down["witness"]["detail"]}


async def test_reading_the_trail_by_seq_and_who_may(platform: Platform):
    api, admin = platform.client, await platform.admin_headers()
    uscc = new_uscc()
    agency = await platform.actor("agency", org_uscc=uscc)
    bureau = await platform.actor("bureau", district="440703")
    r = await api.post("/api/v1/agencies", json=agency_body(uscc), headers=agency.headers)
    path = f"/api/v1/agencies/{r.json()['id']}"
    assert (await api.post(f"{path}/submit", headers=agency.headers)).status_code == 200
    assert (
        await api.post(f"{path}/review", json={"decision": "approve", "comments": "ok"}, headers=bureau.headers)
    ).status_code == 200
    for act in ("suspend", "reinstate", "suspend", "reinstate"):
        assert (await api.post(f"{path}/{act}", json={"reason": act}, headers=bureau.headers)).status_code == 200

    seen, cursor, pages = [], 0, 0
    while cursor is not None:
        r = await api.get(TRAIL, params={"service": "registry", "from": cursor, "limit": 2}, headers=admin)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["service"] == "registry" and len(body["items"]) <= 2
        seen += body["items"]
        cursor, pages = body["next_from"], pages + 1
    assert pages == 3 and [i["seq"] for i in seen] == [1, 2, 3, 4, 5]
    assert [i["action"] for i in seen] == [
        "agency.review.approve",
        "agency.suspend",
        "agency.reinstate",
        "agency.suspend",
        "agency.reinstate",
    ]
    first = seen[0]
    assert set(first) >= {"seq", "at", "actor", "action", "entity_type", "entity_id", "payload", "hash"}
    assert first["entity_type"] == "agency" and first["entity_id"] == path.rsplit("/", 1)[1]
    assert all(b["prev_hash"] == a["hash"] for a, b in itertools.pairwise(seen))
    verified = await _witnessed(platform, "registry")
    assert verified["head"]["hash"] == seen[-1]["hash"]
    r = await api.get(TRAIL, params={"service": "registry", "from": 4}, headers=admin)
    assert [i["seq"] for i in r.json()["items"]] == [4, 5] and r.json()["next_from"] is None
    r = await api.get(TRAIL, params={"service": "contracts"}, headers=admin)
    assert r.status_code == 200 and r.json() == {"service": "contracts", "items": [], "next_from": None}

    # Who may: the admin only; bad input is a problem document.
    assert (await api.get(TRAIL, params={"service": "registry"})).status_code == 401
    for who in (bureau, agency):
        r = await api.get(TRAIL, params={"service": "registry"}, headers=who.headers)
        assert r.status_code == 403, r.text
    assert (await api.get(VERIFY, params={"service": "registry"}, headers=bureau.headers)).status_code == 403
    for params in ({"from": "x"}, {"from": -1}, {"from": 2**63}, {"from": "1\x00"}, {"limit": 0}, {"limit": 201}):
        r = await api.get(TRAIL, params={"service": "registry", **params}, headers=admin)
        assert r.status_code == 422, (params, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    r = await api.get(TRAIL, headers=admin)  # the gateway needs service= to route an admin path
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")


async def test_the_head_event_is_written_exactly_with_the_row(backend):
    """In the throwaway writer service: one ``audittrail.advanced`` per trail row, in the row's
    transaction (a rolled-back act leaves neither), carrying the row's seq and hash."""
    app = writer_app(backend.settings())
    async with running(app) as client:
        for i in range(3):
            assert (await client.post("/items?audit=true", json={"name": f"act-{i}"})).status_code == 201
        rt = app.state.runtime
        t, outbox = rt.infra.audit_trail, rt.infra.outbox

        async def failing_act() -> None:
            async with rt.unit_of_work() as uow:
                await uow.audit(action="item.created", entity_type="item", entity_id="x", payload={})
                raise RuntimeError("the act fails after its trail row")

        with pytest.raises(RuntimeError):
            await failing_act()
        async with rt.db.reader() as s:
            rows = [(r.seq, r.hash) for r in await s.execute(sa.select(t.c.seq, t.c.hash).order_by(t.c.seq))]
            events = [
                r.data
                for r in await s.execute(
                    sa.select(outbox.c.data)
                    .where(outbox.c.type == EventType.AUDITTRAIL_ADVANCED.value)
                    .order_by(outbox.c.seq)
                )
            ]
        assert rows == [(1, rows[0][1]), (2, rows[1][1]), (3, rows[2][1])]
        assert [(e["seq"], e["hash"]) for e in events] == rows
        assert all(e["service"] == "writer" and e["id"] == "writer" and e["version"] == e["seq"] for e in events)
        verified = (await client.get(VERIFY, headers=auth("admin"))).json()
        assert verified["valid"] is True and verified["witness"] == {"service": None, "status": "none"}


@pytest.fixture
def silent_port():
    """A TCP port that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


async def test_a_witness_that_never_answers_is_cut_off(backend, silent_port):
    from devtools.testing.tokens import verifier
    from services.enterprises.main import create_app

    settings = backend.settings(audit_url=f"http://127.0.0.1:{silent_port}", peer_timeout_seconds=1.0)
    app = create_app(settings, verifier=verifier())
    async with running(app) as client:
        started = time.monotonic()
        r = await client.get(VERIFY, headers=auth("admin"))
        elapsed = time.monotonic() - started
    assert r.status_code == 200, r.text
    assert elapsed < 3, elapsed
    assert r.json()["valid"] is None and r.json()["witness"]["status"] == "unavailable", r.json()
