"""Conflicts of interest end to end (SPEC §20, issue #17 item 6), through the gateway to real
processes on both backends: the agency declares a safety evaluation of an enterprise at the
registry, contracts learns it from ``agency.engagement_declared`` on the bus, and the enterprise's
draft with that agency is refused with 422 ``conflict_of_interest`` — a training engagement does not
block."""

from __future__ import annotations

import datetime as dt

from devtools.testing.platform import started_platform
from devtools.testing.wait import eventually
from tests.identity.helpers import fresh_uscc
from tests.security.world import contract_body, enterprise_body
from tests.story import approved_agency


async def test_a_declared_safety_evaluation_blocks_custody(backend, tmp_path):
    async with started_platform(backend.settings(), tmp_path / "logs") as p:
        api = p.client
        bureau = await p.actor("bureau", district="440703")
        _, agency_id, agency = await approved_agency(p, bureau.headers)
        uscc = fresh_uscc("440703")
        enterprise = await p.actor("enterprise", org_uscc=uscc)
        body = enterprise_body(uscc, f"企业{uscc[-5:]}", "440703")
        assert (await api.post("/api/v1/enterprises", json=body, headers=enterprise.headers)).status_code == 201
        today = dt.date.today()
        declare = f"/api/v1/agencies/{agency_id}/engagements"
        training = {"enterprise_uscc": uscc, "kind": "training", "from": str(today), "to": str(today)}
        assert (await api.post(declare, json=training, headers=agency.headers)).status_code == 201

        async def drafted():  # contracts learns the parties (and the training) from the bus
            r = await api.post("/api/v1/contracts", json=contract_body(uscc, agency_id), headers=enterprise.headers)
            return r.json() if r.status_code == 201 else None

        draft = await eventually(drafted, timeout=30, interval=0.3)
        assert (
            await api.post(f"/api/v1/contracts/{draft['id']}/cancel", headers=enterprise.headers)
        ).status_code == 200

        evaluation = {**training, "kind": "safety_evaluation", "from": str(today - dt.timedelta(days=60))}
        assert (await api.post(declare, json=evaluation, headers=agency.headers)).status_code == 201

        async def refused():
            r = await api.post("/api/v1/contracts", json=contract_body(uscc, agency_id), headers=enterprise.headers)
            return r.json() if r.status_code == 422 else None

        problem = await eventually(refused, timeout=15, interval=0.2)
        assert problem["code"] == "conflict_of_interest"
        listed = await api.get(declare, headers=bureau.headers)
        assert [e["kind"] for e in listed.json()] == ["safety_evaluation", "training"]  # by start date
