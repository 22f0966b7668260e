"""Reminders (SPEC §15) from the sweep: a complaint response due within 2 days (the agency), a
hazard deadline within 3 days (the enterprise), a filing's valid_until within 90 and within 30
days, an engineer's certificate within 60 days (the agency) — each once, across re-runs and
across two replicas on one PostgreSQL database."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from devtools.testing.events import publish_event
from devtools.testing.tokens import auth
from tests.notify.helpers import items, seeded, started, wait_for_item
from tests.notify.world import OLD, TODAY, World


async def arrange(settings, client, world: World) -> None:
    await seeded(settings, client, world)
    certificates = [
        {"name": "陈工", "certificate_no": "ZA-1", "valid_until": (TODAY + timedelta(days=50)).isoformat()},
        {"name": "李工", "certificate_no": "ZA-2", "valid_until": (TODAY + timedelta(days=400)).isoformat()},
    ]
    await publish_event(
        settings,
        "agency.approved",
        world.agency(
            which=1, version=5, valid_until=(TODAY + timedelta(days=80)).isoformat(), engineer_certificates=certificates
        ),
        time=OLD,
    )
    await publish_event(
        settings,
        "agency.approved",
        world.agency(which=2, version=5, valid_until=(TODAY + timedelta(days=20)).isoformat()),
        time=OLD,
    )
    await publish_event(
        settings, "complaint.forwarded", world.complaint("forwarded", response_due=TODAY + timedelta(days=2)), time=OLD
    )
    await publish_event(
        settings, "complaint.forwarded", world.complaint("forwarded", response_due=TODAY + timedelta(days=9)), time=OLD
    )
    await publish_event(settings, "hazard.reported", world.hazard(deadline=TODAY + timedelta(days=3)), time=OLD)
    await publish_event(settings, "hazard.reported", world.hazard(deadline=TODAY + timedelta(days=4)), time=OLD)
    await publish_event(
        settings, "hazard.rectified", world.hazard("rectified", deadline=TODAY + timedelta(days=1)), time=OLD
    )
    await publish_event(
        settings,
        "organisation.verified",
        {  # a sentinel: all of the above is applied
            "id": world.UE1,
            "version": 3,
            "uscc": world.UE1,
            "kind": "enterprise",
            "name": "E1",
            "status": "verified",
            "district": "440703",
        },
    )
    await wait_for_item(client, world["E1"], "organisation.verified")


def reminders_of(found: list[dict]) -> list[str]:
    return sorted(i["kind"] for i in found if i["kind"].startswith("reminder."))


async def test_each_reminder_once_across_reruns(env):
    settings = env.settings()
    world = World()
    async with started(settings) as client:
        await arrange(settings, client, world)
        for _ in range(2):  # a re-run sends nothing new
            r = await client.post(
                "/api/v1/admin/sweep", params={"service": "notify", "as_of": TODAY.isoformat()}, headers=auth("admin")
            )
            assert r.status_code == 200, r.text
        assert reminders_of(await items(client, world["A1a"])) == [
            "reminder.certificate_expiry",
            "reminder.complaint_response_due",
            "reminder.filing_expiry_90",
        ]
        assert reminders_of(await items(client, world["A1b"])) == reminders_of(await items(client, world["A1a"]))
        assert reminders_of(await items(client, world["A2"])) == ["reminder.filing_expiry_30"]
        assert reminders_of(await items(client, world["E1"])) == ["reminder.hazard_deadline"]
        for name in ("B703", "CITY", "E2"):
            assert reminders_of(await items(client, world[name])) == []
        cert = next(i for i in await items(client, world["A1a"]) if i["kind"] == "reminder.certificate_expiry")
        assert cert["title"] == "工程师证书即将到期：陈工"
        assert "ZA-1" in cert["body"]
        assert cert["due_at"]
        assert cert["link"] == f"/api/v1/agencies/{world.agency1}"

        # 55 days on: the filing is within 30 days now (once), the certificate was told already.
        later = (TODAY + timedelta(days=55)).isoformat()
        for _ in range(2):
            r = await client.post(
                "/api/v1/admin/sweep", params={"service": "notify", "as_of": later}, headers=auth("admin")
            )
            assert r.status_code == 200, r.text
        assert reminders_of(await items(client, world["A1a"])) == [
            "reminder.certificate_expiry",
            "reminder.complaint_response_due",
            "reminder.filing_expiry_30",
            "reminder.filing_expiry_90",
        ]
        assert reminders_of(await items(client, world["A2"])) == ["reminder.filing_expiry_30"]


async def test_two_replicas_sweeping_at_once_send_each_reminder_once(postgres_backend):
    settings = postgres_backend.settings()
    world = World()
    async with started(settings) as one:
        # Seeded through one replica: two would apply account and domain events concurrently
        # (in production accounts exist long before the events that concern them).
        await arrange(settings, one, world)
        async with started(settings) as two:
            await sweep_together(one, two, world)
    from tests.notify.conftest import delete_stream

    await delete_stream(postgres_backend.nats_url, f"T{postgres_backend.tag.upper()}_NOTIFY")


async def sweep_together(one, two, world: World) -> None:
    params = {"service": "notify", "as_of": TODAY.isoformat()}
    results = await asyncio.gather(
        *(c.post("/api/v1/admin/sweep", params=params, headers=auth("admin")) for c in (one, two, one, two))
    )
    assert all(r.status_code == 200 for r in results), [r.text for r in results]
    assert sum(r.json()["reminders_sent"] for r in results) == 5
    assert reminders_of(await items(one, world["A1a"])) == [
        "reminder.certificate_expiry",
        "reminder.complaint_response_due",
        "reminder.filing_expiry_90",
    ]
    assert reminders_of(await items(two, world["A2"])) == ["reminder.filing_expiry_30"]
    assert reminders_of(await items(two, world["E1"])) == ["reminder.hazard_deadline"]
