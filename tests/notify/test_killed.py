"""Notify as a real process, SIGKILLed with webhook deliveries pending and events arriving while it
is down, then started again (issue #15): every event reaches the bureau's inbox exactly once and its
webhook at least once (a receiver drops repeats by ``webhook-id``: Standard Webhooks), all through
the gateway and the real bus."""

from __future__ import annotations

import asyncio
import json

import pytest

from devtools.natsserver import free_port
from devtools.testing.platform import Platform, started_platform
from devtools.testing.wait import eventually
from tests.notify.conftest import Receiver, receiving

RETRY = {"webhook_retry_first_seconds": 0.3, "webhook_retry_cap_seconds": 1.0}
# A job a killed process had pulled comes back after the work queue's ack wait (60 s).
AFTER_ACK_WAIT = 90


async def _report(platform: Platform, n: int) -> str:
    r = await platform.client.post(
        "/api/v1/reports",
        json={
            "enterprise_name": f"某某化工有限公司{n}",
            "district_code": "440703",
            "town": "某某镇",
            "address": "某某路 1 号",
            "category": "hazard",
            "description": f"仓库堆放大量危化品，无人看管（{n}）",
            "contact_phone": "13912345678",
        },
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def _inbox_subjects(platform: Platform, bureau) -> list[str]:
    r = await platform.client.get(
        "/api/v1/inbox", params={"kind": "report.received", "limit": 100}, headers=bureau.headers
    )
    assert r.status_code == 200, r.text
    return [item["subject_id"] for item in r.json()["items"]]


@pytest.mark.timeout(300)
async def test_notify_killed_with_deliveries_pending_loses_nothing_and_doubles_no_inbox_item(env, tmp_path):
    port = free_port()  # nobody listens yet: every delivery fails and waits on the work queue
    async with started_platform(env.settings(**RETRY), tmp_path / "logs") as platform:
        bureau = await platform.actor("bureau", district="440703")
        r = await platform.client.post(
            "/api/v1/webhooks",
            json={"url": f"http://127.0.0.1:{port}/hook", "events": ["report.received"], "description": "测试"},
            headers=bureau.headers,
        )
        assert r.status_code == 201, r.text

        before = [await _report(platform, n) for n in range(5)]

        async def all_before():
            found = await _inbox_subjects(platform, bureau)
            return found if set(found) >= set(before) else None

        await eventually(all_before, timeout=30, interval=0.3)
        notify = platform.supervisor.component("notify")
        notify.stop(kill=True)  # SIGKILL: deliveries pending, some of them pulled and unacknowledged
        during = [await _report(platform, n) for n in range(5, 10)]  # the bus keeps them meanwhile

        async with receiving(Receiver(port=port)) as hook:
            notify.start()
            await asyncio.to_thread(notify.wait_ready, 60)

            def delivered() -> set[str] | None:
                ids = {json.loads(req["body"])["data"]["id"] for req in hook.requests}
                return ids if ids >= {*before, *during} else None

            await eventually(delivered, timeout=AFTER_ACK_WAIT, interval=0.3)
            # one webhook-id per event: repeats of a delivery (at least once) keep the event's id
            assert len({req["headers"]["webhook-id"] for req in hook.requests}) == 10

        async def all_ten():
            found = await _inbox_subjects(platform, bureau)
            return found if set(found) >= {*before, *during} else None

        found = await eventually(all_ten, timeout=30, interval=0.3)
        await asyncio.sleep(1.0)  # a duplicate, were there one, would land now
        found = await _inbox_subjects(platform, bureau)
        assert sorted(found) == sorted({*before, *during}), "one inbox item per event, none twice"
