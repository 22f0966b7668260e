"""Change filing end to end (SPEC §18, issue #16 item 5), through the gateway to real processes:
the registry learns from the contract events on the bus which engineer a filed contract names, so
the agency may not take that engineer off its roster (422 naming the contract); a change without
them is reviewed by the bureau, and contracts — from ``agency.changed`` — refuses a new contract
naming the engineer who left."""

from __future__ import annotations

from devtools.testing.platform import started_platform
from devtools.testing.wait import eventually
from tests.security.world import contract_body
from tests.story import filed_contract


async def test_a_change_filing_across_registry_and_contracts(backend, tmp_path):
    async with started_platform(backend.settings(), tmp_path / "logs") as p:
        api = p.client
        bureau = await p.actor("bureau", district="440703")
        filed = await filed_contract(p, bureau.headers)  # names 陈工
        record = (await api.get(f"/api/v1/agencies/{filed.agency_id}", headers=filed.agency.headers)).json()
        staff = [
            {
                k: v
                for k, v in s.items()
                if k in ("name", "role", "certificate_no", "certificate_valid_until", "full_time")
            }
            for s in record["staff"]
        ]
        path = f"/api/v1/agencies/{filed.agency_id}/changes"
        without = {"staff": [s for s in staff if s["name"] != "陈工"], "reason": "离职"}

        async def refused():
            r = await api.post(path, json=without, headers=filed.agency.headers)
            return r.json() if r.status_code == 422 else None

        problem = await eventually(refused, timeout=30, interval=0.3)
        assert (problem["code"], problem["contracts"]) == ("engineer_under_contract", [filed.id])

        new = {**staff[0], "name": "新工", "certificate_no": "ZN" + record["uscc"][-8:]}
        keep = [s for s in staff if s["name"] != "李工"] + [new]
        r = await api.post(path, json={"staff": keep, "reason": "李工离职，新工入职"}, headers=filed.agency.headers)
        assert r.status_code == 201, r.text
        change = r.json()
        r = await api.post(
            f"{path}/{change['id']}/review", json={"decision": "approve", "comments": "同意"}, headers=bureau.headers
        )
        assert (r.status_code, r.json()["status"]) == (200, "approved"), r.text

        async def learnt():  # contracts applies agency.changed: 李工 no longer counts
            r = await api.post(
                "/api/v1/contracts",
                json={**contract_body(filed.enterprise_uscc, filed.agency_id), "engineer_name": "李工"},
                headers=filed.enterprise.headers,
            )
            # the enterprise's filed contract overlaps this one too (term_overlaps): wait for the engineer's
            return r.json() if r.status_code == 422 and "engineer_not_registered" in str(r.json()) else None

        assert await eventually(learnt, timeout=30, interval=0.3)
