"""Slow platform-level faults: two replicas of contracts on one PostgreSQL database sweeping at
once, and the whole platform on a three-node NATS JetStream cluster (CUSTODY_NATS_URL listing all
three, stream replicas 3) losing a node in the middle of the work."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter

import httpx
import nats
import pytest

from devtools.natsserver import cluster
from devtools.testing.events import read_events
from devtools.testing.platform import Platform
from devtools.testing.wait import eventually
from tests.conftest import SYSTEM_NATS, Backend
from tests.faults.helpers import record
from tests.faults.test_service_faults import LIMITS, _start
from tests.security.world import build_world, contract_body, enterprise_body

pytestmark = pytest.mark.slow


async def _active_contracts(p: Platform, w, n: int) -> list[dict]:
    """n more active contracts of agency A with n new enterprises of district 440703."""
    from shared.reference import make_uscc

    api = p.client
    made = []
    for i in range(n):
        uscc = make_uscc(f"91440703MA{w.uscc['agencyA'][10:14]}{i:03d}"[:17])
        ent = await p.actor("enterprise", org_uscc=uscc)
        r = await api.post(
            "/api/v1/enterprises", json=enterprise_body(uscc, f"复制企业{i}", "440703"), headers=ent.headers
        )
        assert r.status_code == 201, r.text

        async def created(uscc=uscc, ent=ent):
            resp = await api.post("/api/v1/contracts", json=contract_body(uscc, w.ids["agencyA"]), headers=ent.headers)
            return resp.json() if resp.status_code == 201 else None

        c = await eventually(created, timeout=30, interval=0.3)
        terms = {"content_sha256": c["content_sha256"]}
        for h in (ent.headers, w.as_("agencyA")):
            assert (await api.post(f"/api/v1/contracts/{c['id']}/sign", json=terms, headers=h)).status_code == 200
        assert (await api.post(f"/api/v1/contracts/{c['id']}/file", headers=w.as_("agencyA"))).status_code == 200
        r = await api.post(
            f"/api/v1/contracts/{c['id']}/filing-review",
            json={"decision": "accept", "comments": "ok"},
            headers=w.as_("bureauA"),
        )
        assert r.status_code == 200 and r.json()["status"] == "active", r.text
        made.append(r.json())
    return made


async def test_two_contracts_replicas_on_one_postgres_sweep_each_contract_once(tmp_path):
    backend = Backend("postgres", tmp_path, SYSTEM_NATS)
    p = Platform(backend.settings(**LIMITS), tmp_path / "logs", replicas={"contracts": 2})
    await _start(p, tmp_path / "logs")
    try:
        w = await build_world(p)
        contracts = [w.ids["contractA"], w.ids["contractB"]] + [c["id"] for c in await _active_contracts(p, w, 8)]
        end = dt.date.fromisoformat(contract_body("x", "y")["end_date"])
        replicas = [p.supervisor.component("contracts", r).url for r in (0, 1)]
        admin = await p.admin_headers()
        sweeps = {}
        async with httpx.AsyncClient(timeout=60) as client:
            for label, as_of in (("expiring", end - dt.timedelta(days=10)), ("expired", end + dt.timedelta(days=1))):
                results = await asyncio.gather(
                    *(
                        client.post(f"{url}/api/v1/admin/sweep", params={"as_of": as_of.isoformat()}, headers=admin)
                        for url in replicas
                        for _ in range(2)
                    )
                )  # two concurrent sweeps per replica
                assert all(r.status_code == 200 for r in results), [r.text for r in results]
                sweeps[label] = [r.json()[label] for r in results]

        async def all_published():
            events = await read_events(p.settings)
            kinds = Counter(e.type for e in events if e.subject in contracts)
            return (
                events
                if kinds["contract.expired"] >= len(contracts) and kinds["contract.expiring"] >= len(contracts)
                else None
            )

        events = await eventually(all_published, timeout=60, interval=0.5)
        await asyncio.sleep(2.0)
        events = await read_events(p.settings)
        per_contract = {
            kind: Counter(e.subject for e in events if e.type == kind and e.subject in contracts)
            for kind in ("contract.expiring", "contract.expired")
        }
        histories = {}
        for cid in contracts:
            c = (await p.client.get(f"/api/v1/contracts/{cid}", headers=admin)).json()
            histories[cid] = [h["to"] for h in c["history"]].count("expired")
        record(
            "contracts-two-replicas-one-postgres",
            replicas=2,
            concurrent_sweeps=4,
            contracts=len(contracts),
            sweep_counts=sweeps,
            expiring_events=sum(per_contract["contract.expiring"].values()),
            expired_events=sum(per_contract["contract.expired"].values()),
            duplicates=sum(n - 1 for k in per_contract.values() for n in k.values() if n > 1),
            expired_transitions_per_contract=sorted(set(histories.values())),
            distinct_event_ids=len({e.id for e in events}),
            events_in_stream=len(events),
        )
        assert sum(sweeps["expiring"]) == len(contracts) and sum(sweeps["expired"]) == len(contracts)
        assert all(per_contract[k][cid] == 1 for k in per_contract for cid in contracts), per_contract
        assert set(histories.values()) == {1}
        assert len({e.id for e in events}) == len(events)
    finally:
        await p.stop()
        await backend.cleanup()


async def test_platform_on_a_three_node_cluster_loses_a_node(tmp_path, embedded_nats):
    nodes = cluster(tmp_path / "cluster")
    for node in nodes:
        node.start()
    backend = Backend("sqlite", tmp_path, ",".join(n.url for n in nodes))
    p = Platform(backend.settings(stream_replicas=3, **LIMITS), tmp_path / "logs")
    try:
        await _start(p, tmp_path / "logs")
        nc = await nats.connect([n.url for n in nodes])
        try:
            info = await nc.jetstream().stream_info(p.settings.stream_name)
        finally:
            await nc.close()
        assert info.config.num_replicas == 3
        leader = info.cluster.leader
        world_task = asyncio.create_task(build_world(p))
        await asyncio.sleep(3.0)  # in the middle of filings, reviews, contracts
        victim = next(n for n in nodes if n.name == leader)
        victim.stop(kill=True)
        w = await world_task
        extra = await _active_contracts(p, w, 3)
        api = p.client

        # Every cross-service effect still happens: directory, custodian, audit's read model.
        async def converged():
            d = (await api.get("/api/v1/directory/agencies", params={"limit": 200})).json()["items"]
            listed = {a["id"]: a for a in d}
            if w.ids["agencyA"] not in listed or listed[w.ids["agencyA"]]["active_contracts"] != 1 + len(extra):
                return None
            e = (await api.get(f"/api/v1/enterprises/{w.ids['enterpriseA']}", headers=w.as_("admin"))).json()
            return e["custodian"] and e["custodian"]["contract_id"] == w.ids["contractA"]

        await eventually(converged, timeout=90, interval=0.5)
        survivors = [n for n in nodes if n is not victim]

        events = await read_events(p.settings.model_copy(update={"nats_url": ",".join(n.url for n in survivors)}))
        record(
            "platform-on-cluster-node-killed",
            nodes=3,
            stream_replicas=3,
            killed=victim.name,
            events_in_stream=len(events),
            distinct_events=len({e.id for e in events}),
            contracts_active=2 + len(extra),
            read_models_converged=True,
        )
        assert len({e.id for e in events}) == len(events)
    finally:
        await p.stop()
        for node in nodes:
            node.stop()
