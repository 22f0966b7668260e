"""The tamper-evident audit trail: every regulatory act is appended to a hash-chained log in its
service's own database, and ``GET /api/v1/admin/audit-trail/verify`` reports the first broken link.
Here rows are edited, deleted and re-hashed behind the service's back — in a throwaway service on
both backends, and in the real services of the running platform — and each tampering is found."""

from __future__ import annotations

import asyncio
import sqlite3

import sqlalchemy as sa

from devtools.testing.apps import running
from devtools.testing.tokens import auth
from tests.faults.fakes import writer_app
from tests.faults.helpers import record
from tests.security.world import World


async def _verify(client, **params) -> dict:
    r = await client.get("/api/v1/admin/audit-trail/verify", params=params, headers=auth("admin"))
    assert r.status_code == 200, r.text
    return r.json()


async def test_tampering_behind_the_services_back_is_detected(backend):
    settings = backend.settings()
    app = writer_app(settings)
    async with running(app) as client:
        # Concurrent regulatory acts: the chain must stay linear (advisory lock / BEGIN IMMEDIATE).
        results = await asyncio.gather(
            *(client.post("/items?audit=true", json={"name": f"act-{i}"}) for i in range(30))
        )
        assert all(r.status_code == 201 for r in results)
        clean = await _verify(client)
        assert {k: clean[k] for k in ("service", "valid", "entries", "first_broken_seq", "reason")} == {
            "service": "writer",
            "valid": True,
            "entries": 30,
            "first_broken_seq": None,
            "reason": None,
        }
        assert clean["witness"] == {"service": None, "status": "none"}  # not a platform service: links only
        ctx = app.state.runtime
        t = ctx.infra.audit_trail
        async with ctx.db.reader() as s:
            seqs = [r.seq for r in await s.execute(sa.select(t.c.seq).order_by(t.c.seq))]
        findings = {}

        # 1. A payload edited in place.
        async with ctx.db.transaction() as s:
            await s.execute(sa.update(t).where(t.c.seq == seqs[10]).values(payload={"name": "forged"}))
        findings["payload-edited"] = await _verify(client)
        assert (
            findings["payload-edited"]["valid"] is False and findings["payload-edited"]["first_broken_seq"] == seqs[10]
        )

        # 2. … and its hash recomputed by a careful forger: the next link no longer matches.
        from shared.audit_trail import _link

        async with ctx.db.transaction() as s:
            row = (await s.execute(sa.select(t).where(t.c.seq == seqs[10]))).mappings().one()
            forged = _link(
                row["prev_hash"],
                at=row["at"],
                actor=row["actor"],
                action=row["action"],
                entity_type=row["entity_type"],
                entity_id=row["entity_id"],
                payload=row["payload"],
            )
            await s.execute(sa.update(t).where(t.c.seq == seqs[10]).values(hash=forged))
        findings["payload-edited-and-rehashed"] = await _verify(client)
        assert findings["payload-edited-and-rehashed"]["first_broken_seq"] == seqs[11]

        # 3. A row deleted (after restoring the chain from scratch is impossible: start a new one).
        async with ctx.db.transaction() as s:
            await s.execute(sa.delete(t))
        for i in range(10):
            assert (await client.post("/items?audit=true", json={"name": f"again-{i}"})).status_code == 201
        assert (await _verify(client))["valid"] is True
        async with ctx.db.reader() as s:
            seqs = [r.seq for r in await s.execute(sa.select(t.c.seq).order_by(t.c.seq))]
        async with ctx.db.transaction() as s:
            await s.execute(sa.delete(t).where(t.c.seq == seqs[4]))
        findings["row-deleted"] = await _verify(client)
        assert findings["row-deleted"]["first_broken_seq"] == seqs[5]

    record(
        "audit-trail-tamper",
        backend=backend.kind,
        concurrent_appends=30,
        chain_valid_before=True,
        tamperings=3,
        detected={k: v["first_broken_seq"] for k, v in findings.items()},
    )


async def test_real_services_chain_their_regulatory_acts_and_detect_tampering(world: World):
    """Registry (review), contracts (filing), audit (audit result, complaint resolution) through
    the gateway; then a contracts trail row is edited in its SQLite file behind the service."""
    api, admin = world.platform.client, world.as_("admin")
    # A complaint resolution and an audit result, so that the audit service has acts on its trail.
    await api.post(f"/api/v1/complaints/{world.ids['complaint']}/forward", json={}, headers=world.as_("bureauA"))
    await api.post(
        f"/api/v1/complaints/{world.ids['complaint']}/resolve",
        json={"outcome": "dismissed", "notes": "ok"},
        headers=world.as_("bureauA"),
    )
    await api.post(
        f"/api/v1/audits/{world.ids['task']}/result",
        json={"scores": [{"criterion": "记录", "score": 90}]},
        headers=world.as_("bureauA"),
    )
    entries = {}
    for service in ("registry", "contracts", "audit", "enterprises"):
        r = await api.get("/api/v1/admin/audit-trail/verify", params={"service": service}, headers=admin)
        assert r.status_code == 200, r.text
        assert r.json()["valid"] is True, (service, r.json())
        entries[service] = r.json()["entries"]
    assert entries["registry"] >= 2 and entries["contracts"] >= 2 and entries["audit"] >= 1, entries

    path = world.platform.settings.data_dir / "contracts.db"
    conn = sqlite3.connect(path, timeout=10, isolation_level=None)
    try:
        seq = conn.execute("SELECT seq FROM audit_trail ORDER BY seq LIMIT 1 OFFSET 1").fetchone()[0]
        conn.execute("UPDATE audit_trail SET actor = 'forger' WHERE seq = ?", (seq,))
    finally:
        conn.close()
    r = await api.get("/api/v1/admin/audit-trail/verify", params={"service": "contracts"}, headers=admin)
    assert r.status_code == 200
    assert r.json()["valid"] is False and r.json()["first_broken_seq"] == seq, r.json()
    record(
        "audit-trail-real-services",
        entries=entries,
        tampered_service="contracts",
        tampered_seq=seq,
        detected_first_broken_seq=r.json()["first_broken_seq"],
    )
