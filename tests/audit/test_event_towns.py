"""Audit's events name the enterprise's town where its read model knows it (SPEC §22, docs/DECISIONS.md
D60): notify tells that town's bureau. An enterprise whose town audit does not hold yet
gives events without one (its district's bureau is told as before)."""

from __future__ import annotations

from tests.audit.factories import Agency, Enterprise, audit_app, hazard, log_hazards

HUANSHI, CHAOLIAN = "440703001", "440703002"  # two towns of 蓬江区 440703


async def test_events_carry_the_enterprise_s_town(backend):
    async with audit_app(backend) as h:
        agency = Agency()
        mine = await h.setup(agency=agency, enterprise=Enterprise(town=HUANSHI))
        neighbour = await h.setup(agency=agency, enterprise=Enterprise(town=CHAOLIAN))
        unknown = await h.setup(agency=agency, enterprise=Enterprise())
        for contract in (mine, neighbour, unknown):
            await log_hazards(h, contract, hazard("major"))
        r = await h.client.post(
            "/api/v1/complaints",
            json={
                "agency_id": agency.id,
                "contract_id": mine.id,
                "category": "service_quality",
                "description": "工程师检查走过场",
            },
            headers=mine.enterprise.headers(),
        )
        assert r.status_code == 201, r.text

        towns = {e.data["enterprise_uscc"]: e.data.get("town") for e in await h.events("hazard.reported", count=3)}
        assert towns == {
            mine.enterprise.uscc: HUANSHI,
            neighbour.enterprise.uscc: CHAOLIAN,
            unknown.enterprise.uscc: None,
        }
        logs = {e.data["enterprise_uscc"]: e.data.get("town") for e in await h.events("servicelog.recorded", count=3)}
        assert logs == towns
        [received] = await h.events("complaint.received")
        assert (received.data["district_code"], received.data["town"]) == ("440703", HUANSHI)
        cases = await h.events("supervision.opened", count=3)
        assert {e.data["enterprise_uscc"]: e.data.get("town") for e in cases} == towns
