"""E-mail over SMTP into a real in-process SMTP server (aiosmtpd): an urgent item is mailed at
once in the reader's language, the rest in one daily digest; off without CUSTODY_SMTP_URL."""

from __future__ import annotations

import asyncio

from devtools.testing.events import publish_event
from devtools.testing.tokens import auth
from devtools.testing.wait import eventually
from tests.notify.helpers import seeded, started, wait_for_item
from tests.notify.world import World


async def test_major_hazard_is_mailed_at_once_the_rest_in_a_daily_digest(env, smtp):
    settings = env.settings(smtp_url=smtp.url)
    world = World()
    async with started(settings) as client:
        await seeded(settings, client, world)
        await publish_event(settings, "hazard.reported", world.hazard(level="major"))
        # Within 5 s of the event: the district bureau (zh-CN) and the enterprise (English).
        await eventually(lambda: smtp.to("b703@example.test") and smtp.to("e1@example.test"), timeout=5)
        zh, en = smtp.to("b703@example.test")[0], smtp.to("e1@example.test")[0]
        assert zh["Subject"] == "【紧急】发现重大隐患"
        assert "/api/v1/hazards/" in zh.get_content()
        assert en["Subject"] == "[Urgent] Major hazard found"
        assert "rectify by" in en.get_content()
        assert "noreply@custody.invalid" in zh["From"]

        await publish_event(settings, "hazard.reported", world.hazard(level="general"))
        await wait_for_item(client, world["E1"], "hazard.reported", count=2)
        await asyncio.sleep(0.5)
        assert len(smtp.to("e1@example.test")) == 1, "a general hazard waits for the digest"

        admin = auth("admin")
        r = await client.post("/api/v1/admin/sweep", params={"service": "notify"}, headers=admin)
        assert r.status_code == 200, r.text
        assert r.json()["digests_sent"] >= 1
        await eventually(lambda: len(smtp.to("e1@example.test")) == 2, timeout=10)
        digest = smtp.to("e1@example.test")[1]
        assert digest["Subject"] == "Your 1 new notification"
        assert "A hazard was found: rectify it" in digest.get_content()
        assert "Major hazard found" not in digest.get_content(), "mailed already"
        r = await client.post("/api/v1/admin/sweep", params={"service": "notify"}, headers=admin)
        assert r.json()["digests_sent"] == 0, "once a day"
        assert smtp.to("a1a@example.test") == [] or all(
            "【紧急】" not in m["Subject"] for m in smtp.to("a1a@example.test")
        )


async def test_no_mail_without_smtp(env, smtp):
    settings = env.settings()
    world = World()
    async with started(settings) as client:
        await seeded(settings, client, world)
        await publish_event(settings, "hazard.reported", world.hazard(level="major"))
        await wait_for_item(client, world["B703"], "hazard.reported")
        r = await client.post("/api/v1/admin/sweep", params={"service": "notify"}, headers=auth("admin"))
        assert r.json()["digests_sent"] == 0
        await asyncio.sleep(0.5)
        assert smtp.messages == []
