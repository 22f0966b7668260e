"""Conflicts of interest (SPEC §20, issue #17 item 6): a contract is refused with 422
``conflict_of_interest`` when its agency did a safety evaluation for the enterprise within
``conflict_years`` (policy, 3) before the term starts — learnt from ``agency.engagement_declared``
on the real bus, both backends. Other kinds of work, other enterprises, and an evaluation older
than the window do not block."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from devtools.testing.wait import eventually
from services.contracts.models import EngagementFacts
from tests.contracts.factories import START, new_uscc, world


def engagement(w, *, kind: str = "safety_evaluation", ends_on: date, enterprise_uscc: str | None = None) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "version": 1,
        "agency_id": w.agency_id,
        "agency_uscc": w.agency_uscc,
        "enterprise_uscc": enterprise_uscc or w.enterprise_uscc,
        "kind": kind,
        "starts_on": (ends_on - timedelta(days=30)).isoformat(),
        "ends_on": ends_on.isoformat(),
    }


async def declared(w, data: dict) -> None:
    await w.publish("agency.engagement_declared", data)

    async def known() -> bool:
        async with w.app.state.runtime.unit_of_work().read() as session:
            return await session.get(EngagementFacts, data["id"]) is not None

    await eventually(known, timeout=15)


async def test_an_evaluation_within_the_window_refuses_the_contract(backend):
    async with world(backend.settings()) as w:
        # work of another kind, or for another enterprise, does not block
        await declared(w, engagement(w, kind="training", ends_on=START - timedelta(days=10)))
        await declared(w, engagement(w, ends_on=START - timedelta(days=10), enterprise_uscc=new_uscc()))
        allowed = await w.create()
        assert (await w.post(allowed["id"], "cancel", w.agency())).status_code == 200
        # an evaluation ending three years and a day before the start is out of the window
        await declared(w, engagement(w, ends_on=date(START.year - 3, START.month, START.day) - timedelta(days=1)))
        old = await w.create()
        assert (await w.post(old["id"], "cancel", w.agency())).status_code == 200
        # one ending exactly three years before the start is within it
        await declared(w, engagement(w, ends_on=date(START.year - 3, START.month, START.day)))
        for headers in (w.agency(), w.enterprise()):
            r = await w.client.post("/api/v1/contracts", json=w.body(), headers=headers)
            assert r.status_code == 422, r.text
            problem = r.json()
            assert problem["code"] == "conflict_of_interest" and "conflict_of_interest" in problem["rules"]
            assert problem["errors"][0]["field"] == "agency_id"
        english = await w.client.post(
            "/api/v1/contracts", json=w.body(), headers={**w.agency(), "Accept-Language": "en"}
        )
        assert "safety evaluation" in english.json()["errors"][0]["message"]


async def test_a_replayed_declaration_is_applied_once(sqlite_backend):
    async with world(sqlite_backend.settings()) as w:
        data = engagement(w, ends_on=START - timedelta(days=1))
        await declared(w, data)
        await w.publish("agency.engagement_declared", {**data, "ends_on": (START - timedelta(days=4000)).isoformat()})
        r = await w.client.post("/api/v1/contracts", json=w.body(), headers=w.agency())
        assert r.status_code == 422 and r.json()["code"] == "conflict_of_interest"  # the same version: ignored
