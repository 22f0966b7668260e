"""An enterprise graded D needs the hazard-inspection frequency of the next higher risk level
(SPEC §19, docs/DECISIONS.md D47): contracts reads audit's ``enterprise.credit_changed``
from the bus, flags the enterprise's live contracts that fall short (and clears the flag once the
grade recovers), and refuses a new contract below that frequency (422 ``inspection_below_minimum``)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import sqlalchemy as sa

from devtools.testing.apps import running
from devtools.testing.tokens import verifier
from devtools.testing.wait import eventually
from services.audit.main import create_app as audit_app
from services.audit.models import ContractView
from services.contracts.main import create_app as contracts_app
from tests.audit.factories import Harness, admin, clock_at
from tests.contracts.factories import TODAY, World, frozen, new_uscc, world


async def _flagged(w, cid: str, flag: bool):
    c = await w.get(cid)
    return c if c["risk_flagged"] is flag else None


def _credit(uscc: str, version: int, grade: str, previous: str, score: int) -> dict:
    return {
        "id": uscc,
        "version": version,
        "uscc": uscc,
        "score": score,
        "grade": grade,
        "previous_grade": previous,
        "delta": -10,
        "cause": "major_hazard_overdue:x",
    }


async def test_grade_d_raises_the_inspection_frequency_one_level(backend):
    settings = backend.settings()
    async with world(settings) as w:  # yellow: 4 a year; orange (yellow raised one level): 6
        short = await w.active(inspections=4)
        await w.publish("enterprise.credit_changed", _credit(w.enterprise_uscc, 1, "C", "A", 60))
        await asyncio.sleep(0.3)
        assert (await w.get(short["id"]))["risk_flagged"] is False  # C: nothing changes

        await w.publish("enterprise.credit_changed", _credit(w.enterprise_uscc, 2, "D", "C", 50))
        c = await eventually(lambda: _flagged(w, short["id"], True), timeout=15)
        assert c["status"] == "active"
        assert "credit grade D" in c["history"][-1]["reason"] and "orange" in c["history"][-1]["reason"]

        # a new contract for the D enterprise needs 6 (inspected as orange)
        r = await w.client.post("/api/v1/contracts", json=w.body(inspections=5), headers=w.agency())
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "inspection_below_minimum"
        assert "credit grade D" in str(r.json()) or "诚信等级为 D" in str(r.json())

        # a stale event (an older version) changes nothing; the grade back to C clears the flag
        await w.publish("enterprise.credit_changed", _credit(w.enterprise_uscc, 1, "C", "A", 60))
        await asyncio.sleep(0.3)
        assert (await w.get(short["id"]))["risk_flagged"] is True
        await w.publish("enterprise.credit_changed", _credit(w.enterprise_uscc, 3, "C", "D", 61))
        await eventually(lambda: _flagged(w, short["id"], False), timeout=15)

        # a risk change keeps counting the grade: red and D stays red (12)
        await w.publish("enterprise.credit_changed", _credit(w.enterprise_uscc, 4, "D", "C", 50))
        await eventually(lambda: _flagged(w, short["id"], True), timeout=15)
        await w.enterprise_event("enterprise.updated", risk_level="blue")  # blue raised: yellow, 4 is enough
        await eventually(lambda: _flagged(w, short["id"], False), timeout=15)
        await w.enterprise_event("enterprise.risk_changed", risk_level="yellow")  # yellow raised: orange, 6
        await eventually(lambda: _flagged(w, short["id"], True), timeout=15)

        # another enterprise, not graded D: 4 is enough for yellow
        w.enterprise_uscc = new_uscc()
        await w.enterprise_event(version=1, risk_level="yellow")
        r = await w.client.post("/api/v1/contracts", json=w.body(inspections=4), headers=w.agency())
        assert r.status_code == 201, r.text


async def test_hazards_left_overdue_grade_an_enterprise_d_and_its_contract_is_flagged(backend):
    """Audit and contracts over the real bus: five major hazards left past their deadline take the
    enterprise to 50 (D); contracts flags its yellow-risk contract with 4 inspections a year."""
    settings = backend.settings()
    visit = TODAY + timedelta(days=3)
    audit_clock = clock_at(visit)
    audit = audit_app(settings, clock=audit_clock, verifier=verifier())
    contracts_clock = frozen()
    contracts = contracts_app(settings, clock=contracts_clock, verifier=verifier())
    async with running(audit) as audit_client, running(contracts) as contracts_client:
        h = Harness(audit, audit_client, settings, audit_clock)
        w = World(settings=settings, app=contracts, client=contracts_client, clock=contracts_clock)
        await w.setup_parties()
        active = await w.active(inspections=4)

        async def audit_knows() -> bool:
            async with audit.state.runtime.unit_of_work().read() as session:
                found = await session.execute(
                    sa.select(ContractView.status).where(ContractView.id == uuid.UUID(active["id"]))
                )
                return found.scalar() == "active"

        await eventually(audit_knows, timeout=20)
        deadline = visit + timedelta(days=3)
        body = {
            "contract_id": active["id"],
            "visit_date": visit.isoformat(),
            "engineer_name": active["engineer_name"],
            "items": ["hazard_inspection"],
            "summary": "例行检查",
            "hazards": [
                {"description": f"隐患{i}", "level": "major", "location": "车间", "deadline": deadline.isoformat()}
                for i in range(5)
            ],
        }
        r = await audit_client.post("/api/v1/service-logs", json=body, headers=w.agency())
        assert r.status_code == 201, r.text
        after = deadline + timedelta(days=1)
        audit_clock.set(clock_at(after).now())
        r = await audit_client.post(f"/api/v1/admin/sweep?service=audit&as_of={after.isoformat()}", headers=admin())
        assert r.json()["hazards_overdue"] == 5, r.text
        [change] = [e for e in await h.events("enterprise.credit_changed", count=5) if e.data["grade"] == "D"]
        assert change.data["uscc"] == w.enterprise_uscc
        c = await eventually(lambda: _flagged(w, active["id"], True), timeout=20)
        assert "credit grade D" in c["history"][-1]["reason"]
