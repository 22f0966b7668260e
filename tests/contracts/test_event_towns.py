"""Contract events name the enterprise's town (SPEC §22, docs/DECISIONS.md D60), from the
enterprise facts, so notify tells the town's bureau of a filing to review."""

from __future__ import annotations

from devtools.testing.events import read_events
from devtools.testing.wait import eventually
from tests.contracts.factories import new_uscc, world

HUANSHI = "440703001"


async def test_contract_events_carry_the_enterprise_s_town(backend):
    settings = backend.settings()
    async with world(settings, parties=False) as w:
        await w.agency_event("agency.approved")
        await w.enterprise_event("enterprise.registered", town=HUANSHI, version=1)
        mine = await w.filing()
        w.enterprise_uscc = new_uscc()
        await w.enterprise_event("enterprise.registered", town=None, version=1)
        unknown = await w.filing()

        async def submitted():
            found = {e.subject: e.data for e in await read_events(settings, event_type="contract.filing_submitted")}
            return found if {mine["id"], unknown["id"]} <= set(found) else None

        found = await eventually(submitted, timeout=15)
        assert found[mine["id"]]["town"] == HUANSHI and found[mine["id"]]["district_code"] == "440703"
        assert found[unknown["id"]]["town"] is None
