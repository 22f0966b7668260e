"""An enterprise graded D needs the hazard-inspection frequency of the next higher risk level
(SPEC §19, docs/DECISIONS.md D-ECREDIT): contracts reads audit's ``enterprise.credit_changed``
from the bus, flags the enterprise's live contracts that fall short (and clears the flag once the
grade recovers), and refuses a new contract below that frequency (422 ``inspection_below_minimum``)."""

from __future__ import annotations

import asyncio

from devtools.testing.wait import eventually
from tests.contracts.factories import new_uscc, world


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
