"""Who is told (SPEC §15): for each row of the table, the event reaches exactly the accounts it
should — an organisation's every member, the bureau of the district (and the city bureau), a
town's bureau for what happens in its town — and nobody else: not a second agency, not another
district's bureau, not admin. Recipients are resolved when the event arrives."""

from __future__ import annotations

import uuid
from datetime import timedelta

from devtools.testing.events import publish_event
from devtools.testing.wait import eventually
from tests.notify.helpers import items, seeded, started, wait_for_item
from tests.notify.world import TODAY, World

EVERYONE = ("B703", "B704", "TOWN", "CITY", "A1a", "A1b", "A2", "E1", "E2", "ADMIN")
EVERYONE += ("T703", "T703N")  # the town bureaus of 440703 (SPEC §22)
HUANSHI, CHAOLIAN = "440703001", "440703002"  # 环市街道 and its neighbour 潮连街道, towns of 440703
AGENCY = ("A1a", "A1b")
BUREAU = ("B703", "CITY")
PARTIES = ("E1", *AGENCY)


def rows(w: World) -> list[tuple[str, dict, tuple[str, ...]]]:
    org = {
        "id": w.UE1,
        "version": 2,
        "uscc": w.UE1,
        "kind": "enterprise",
        "name": "宏达五金",
        "status": "verified",
        "district": "440703",
    }
    log = {
        "id": str(uuid.uuid4()),
        "version": 1,
        "contract_id": w.contract,
        "agency_id": w.agency1,
        "enterprise_uscc": w.UE1,
        "visit_date": TODAY.isoformat(),
    }
    complaint = str(uuid.uuid4())
    listing = {
        "id": str(uuid.uuid4()),
        "version": 1,
        "org_uscc": w.UE2,
        "org_kind": "enterprise",
        "status": "noticed",
        "reason": "虚假材料",
        "objection_until": (TODAY + timedelta(days=5)).isoformat(),
    }
    table = [
        ("organisation.registered", {**org, "status": "pending", "version": 1}, BUREAU),
        ("organisation.verified", org, ("E1",)),
        ("organisation.rejected", {**org, "status": "rejected"}, ("E1",)),
        ("organisation.suspended", {**org, "status": "suspended"}, ("E1",)),
        ("agency.submitted", w.agency("submitted", version=2), BUREAU),
        *[
            (f"agency.{s}", w.agency(s, version=3), AGENCY)
            for s in (
                "approved",
                "rejected",
                "needs_more_info",
                "suspended",
                "reinstated",
                "revoked",
                "expired",
                "changed",
            )
        ],
        ("contract.drafted", w.contract_data("draft", drafted_by="enterprise"), AGENCY),
        ("contract.drafted", w.contract_data("draft", drafted_by="agency", id=str(uuid.uuid4())), ("E1",)),
        ("contract.signed", w.contract_data("signed"), PARTIES),
        ("contract.filing_submitted", w.contract_data("filing"), BUREAU),
        *[
            (f"contract.{s}", w.contract_data(s), PARTIES)
            for s in ("filed", "rejected", "activated", "suspended", "terminated", "expired", "expiring")
        ],
        ("servicelog.recorded", log, ("E1",)),
        ("servicelog.disputed", {**log, "version": 2, "dispute_reason": "未到现场"}, (*AGENCY, *BUREAU)),
        ("hazard.reported", w.hazard(level="general"), ("E1",)),
        ("hazard.reported", w.hazard(level="major"), ("E1", *BUREAU)),
        ("hazard.rectified", w.hazard("rectified"), AGENCY),
        ("hazard.overdue", w.hazard("overdue"), (*PARTIES, *BUREAU)),
        (
            "visit.missed",
            {
                "id": w.contract,
                "version": 1,
                "contract_id": w.contract,
                "agency_id": w.agency1,
                "item": "hazard_inspection",
                "missed": 1,
                "as_of": TODAY.isoformat(),
            },
            (*AGENCY, *BUREAU),
        ),
        (
            "supervision.escalated",
            {
                "id": str(uuid.uuid4()),
                "version": 2,
                "hazard_id": str(uuid.uuid4()),
                "enterprise_uscc": w.UE1,
                "district_code": "440703",
                "status": "reported",
            },
            ("CITY",),
        ),
        ("complaint.received", w.complaint("received", complaint_id=complaint), BUREAU),
        (
            "complaint.forwarded",
            w.complaint("forwarded", complaint_id=complaint, version=2, response_due=TODAY + timedelta(days=7)),
            AGENCY,
        ),
        ("complaint.responded", w.complaint("responded", complaint_id=complaint, version=3), (*BUREAU, "E1")),
        ("complaint.closed", w.complaint("closed", complaint_id=complaint, version=4), ("E1", *AGENCY)),
        (
            "report.received",
            {
                "id": str(uuid.uuid4()),
                "version": 1,
                "district_code": "440704",
                "town": "440704001",
                "category": "hazard",
                "enterprise_name": "某五金厂",
            },
            ("B704", "TOWN", "CITY"),
        ),
        (
            "agency.credit_changed",
            {"id": w.agency1, "version": 1, "score": 90, "grade": "A", "delta": -10, "cause": "complaint_upheld"},
            AGENCY,
        ),
        ("credit.noticed", listing, ("E2",)),
        ("credit.listed", {**listing, "status": "listed", "version": 2}, ("E2",)),
        # A town bureau (SPEC §22) is told of its town's events — the event names the enterprise's
        # town — and its district's bureau still is; the neighbouring town's bureau is not.
        ("hazard.reported", {**w.hazard(level="major"), "town": HUANSHI}, ("E1", *BUREAU, "T703")),
        ("hazard.overdue", {**w.hazard("overdue"), "town": HUANSHI}, (*PARTIES, *BUREAU, "T703")),
        ("complaint.received", {**w.complaint("received"), "town": HUANSHI}, (*BUREAU, "T703")),
        (
            "contract.filing_submitted",
            w.contract_data("filing", id=str(uuid.uuid4()), town=HUANSHI),
            (*BUREAU, "T703"),
        ),
        (
            "servicelog.disputed",
            {**log, "id": str(uuid.uuid4()), "version": 2, "dispute_reason": "未到现场", "town": HUANSHI},
            (*AGENCY, *BUREAU, "T703"),
        ),
        (
            "report.received",
            {
                "id": str(uuid.uuid4()),
                "version": 1,
                "district_code": "440703",
                "town": CHAOLIAN,
                "category": "violation",
                "enterprise_name": "某化工厂",
            },
            (*BUREAU, "T703N"),
        ),
        # a town that is not one of the event's district's (another district's, or free text) tells
        # no town bureau; the district's bureau is told
        ("hazard.overdue", {**w.hazard("overdue"), "town": "440704001"}, (*PARTIES, *BUREAU)),
        ("complaint.received", {**w.complaint("received"), "town": "环市街道"}, BUREAU),
    ]
    return table


async def test_each_row_of_the_table_tells_exactly_its_parties(env):
    settings = env.settings()
    world = World()
    async with started(settings) as client:
        await seeded(settings, client, world)
        seen: dict[str, int] = {name: len(await items(client, world[name])) for name in EVERYONE}
        for event_type, data, told in rows(world):
            event = await publish_event(settings, event_type, data)
            for name in told:

                async def arrived(name=name, subject=str(data["id"]), kind=event_type):
                    found = await items(client, world[name])
                    return [i for i in found if i["subject_id"] == subject and i["kind"] == kind]

                await eventually(arrived, timeout=10)
            # One transaction per event: when one recipient has it, everybody it tells has it.
            for name in EVERYONE:
                now = len(await items(client, world[name]))
                expected = seen[name] + (1 if name in told else 0)
                assert now == expected, f"{event_type} ({event.id}): {name} has {now - seen[name]} new items"
                seen[name] = now


async def test_major_hazard_is_urgent_general_is_not_and_audits_tell_nobody(env):
    settings = env.settings()
    world = World()
    async with started(settings) as client:
        await seeded(settings, client, world)
        await publish_event(
            settings,
            "audit.completed",
            {
                "id": str(uuid.uuid4()),
                "version": 1,
                "contract_id": world.contract,
                "agency_id": world.agency1,
                "total": 55.0,
            },
        )
        await publish_event(settings, "hazard.reported", world.hazard(level="general"))
        await publish_event(settings, "hazard.reported", world.hazard(level="major"))
        bureau = await wait_for_item(client, world["B703"], "hazard.reported")
        assert bureau[0]["urgent"] is True
        assert bureau[0]["title"] == "发现重大隐患"
        ours = await wait_for_item(client, world["E1"], "hazard.reported", count=2)
        assert sorted(i["urgent"] for i in ours) == [False, True]
        assert all(i["link"] == f"/api/v1/hazards/{i['subject_id']}" for i in ours)
        assert ours[0]["due_at"] is not None
        # Quality audits are never told to agencies (nor to anyone).
        for name in AGENCY:
            assert not [i for i in await items(client, world[name]) if i["kind"].startswith("audit")]


async def test_recipients_are_resolved_when_the_event_arrives(env):
    """A member who joins later does not see older items; a disabled account is not told, and
    is told again once enabled; a removed one never again."""
    settings = env.settings()
    world = World()
    async with started(settings) as client:
        await seeded(settings, client, world)
        await publish_event(settings, "account.disabled", world["A1b"].account(version=2))
        await publish_event(settings, "agency.suspended", world.agency("suspended", version=2))
        await wait_for_item(client, world["A1a"], "agency.suspended")
        assert await items(client, world["A1b"], kind="agency.suspended") == []

        late = world["A1a"].__class__("A1c", str(uuid.uuid4()), "agency", org_uscc=world.UA1)
        await publish_event(settings, "account.registered", late.account())
        await publish_event(settings, "account.enabled", world["A1b"].account(version=3))
        await publish_event(settings, "account.removed", world["A1a"].account(version=2))
        await publish_event(settings, "agency.reinstated", world.agency("reinstated", version=3))
        await wait_for_item(client, world["A1b"], "agency.reinstated")
        assert [i["kind"] for i in await items(client, late)] == ["agency.reinstated"]
        assert await items(client, world["A1a"], kind="agency.reinstated") == []
        # A stale account event (an older version) changes nothing.
        await publish_event(settings, "account.registered", world["A1a"].account(version=1))
        await publish_event(settings, "agency.revoked", world.agency("revoked", version=4))
        await wait_for_item(client, world["A1b"], "agency.revoked")
        assert await items(client, world["A1a"], kind="agency.revoked") == []
