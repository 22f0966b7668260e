"""Webhooks (SPEC §15, Standard Webhooks): owners and who sees them; a real HTTP receiver that
verifies the signature with the ``standardwebhooks`` package and fails the first delivery gets
it again; one item per attempt in the delivery log; failing after the retry horizon and back to
active by a manual retry; a slow receiver does not hold up another; SSRF refusals outside
development, at subscription and at delivery; redirects are not followed."""

from __future__ import annotations

import asyncio
import uuid

from standardwebhooks.webhooks import Webhook

from devtools.testing.events import publish_event
from devtools.testing.wait import eventually
from services.notify import ssrf
from shared.settings import Settings
from tests.notify.conftest import Receiver, receiving
from tests.notify.helpers import seeded, started, wait_for_item
from tests.notify.world import World

FAST_RETRY = {"webhook_retry_first_seconds": 0.2, "webhook_retry_cap_seconds": 0.5}


async def subscribe(client, person, url: str, events: list[str]) -> dict:
    r = await client.post(
        "/api/v1/webhooks", json={"url": url, "events": events, "description": "测试"}, headers=person.headers
    )
    assert r.status_code == 201, r.text
    return r.json()


async def deliveries(client, person, subscription_id: str) -> list[dict]:
    r = await client.get(f"/api/v1/webhooks/{subscription_id}/deliveries", headers=person.headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def test_owners_see_and_delete_only_their_webhooks(env):
    settings = env.settings()
    world = World()
    async with started(settings) as client:
        url = "http://127.0.0.1:9/hook"
        made = await subscribe(client, world["A1a"], url, ["hazard.rectified"])
        assert made["secret"].startswith("whsec_")
        assert made["status"] == "active"
        bureau = await subscribe(client, world["B703"], url, ["hazard.reported"])
        r = await client.get(f"/api/v1/webhooks/{made['id']}", headers=world["A1a"].headers)
        assert r.status_code == 200
        assert "secret" not in r.json()
        assert r.headers["etag"] == '"1"'
        # The organisation's webhooks are its members' (any member until the org-admin role lands).
        assert (await client.get(f"/api/v1/webhooks/{made['id']}", headers=world["A1b"].headers)).status_code == 200
        for outsider in ("A2", "E1", "B703"):
            r = await client.get(f"/api/v1/webhooks/{made['id']}", headers=world[outsider].headers)
            assert r.status_code == 403, outsider
            r = await client.delete(f"/api/v1/webhooks/{made['id']}", headers=world[outsider].headers)
            assert r.status_code == 403, outsider
            r = await client.get(f"/api/v1/webhooks/{made['id']}/deliveries", headers=world[outsider].headers)
            assert r.status_code == 403, outsider
        for name, expected in (
            ("A2", []),
            ("B704", []),
            ("B703", [bureau["id"]]),
            ("A1b", [made["id"]]),
            ("ADMIN", sorted([made["id"], bureau["id"]])),
        ):
            r = await client.get("/api/v1/webhooks", headers=world[name].headers)
            assert sorted(w["id"] for w in r.json()["items"]) == expected, name
        assert (await client.delete(f"/api/v1/webhooks/{made['id']}", headers=world["A1b"].headers)).status_code == 204
        assert (await client.get(f"/api/v1/webhooks/{made['id']}", headers=world["A1a"].headers)).status_code == 404


async def test_signed_delivery_failed_first_is_delivered_again(env):
    settings = env.settings(**FAST_RETRY)
    world = World()
    async with receiving(Receiver(statuses=[500])) as hook, receiving() as other, started(settings) as client:
        await seeded(settings, client, world)
        sub = await subscribe(client, world["B703"], hook.url, ["hazard.reported"])
        admin = await subscribe(client, world["ADMIN"], other.url, ["hazard.reported"])
        for name in ("B704", "A2", "E2"):  # not told of a 440703 hazard of E1: their webhooks get nothing
            await subscribe(client, world[name], other.url, ["hazard.reported"])
        event = await publish_event(settings, "hazard.reported", world.hazard(level="major"))

        await eventually(lambda: len(hook.requests) >= 2, timeout=15)
        first, second = hook.requests[:2]
        assert first["body"] == second["body"]
        assert first["headers"]["webhook-id"] == event.id
        envelope = Webhook(sub["secret"]).verify(second["body"], second["headers"])
        assert envelope["type"] == "hazard.reported"
        assert envelope["id"] == event.id
        assert envelope["data"]["level"] == "major"
        assert envelope["specversion"] == "1.0"
        assert second["headers"]["webhook-signature"].startswith("v1,")

        log = await eventually(lambda: _two(client, world["B703"], sub["id"]), timeout=10)
        assert [(d["attempt"], d["status_code"]) for d in log] == [(2, 204), (1, 500)]  # newest first
        assert log[1]["error"] == "HTTP 500"
        assert log[1]["next_attempt_at"] is not None
        assert log[0]["error"] is None
        assert log[0]["next_attempt_at"] is None
        assert log[0]["event_id"] == event.id

        await eventually(lambda: len(other.requests) >= 1, timeout=10)
        await asyncio.sleep(0.5)  # any wrong delivery would have arrived with the right one
        assert len(other.requests) == 1, "only admin's webhook; not another district's, agency's or enterprise's"
        assert Webhook(admin["secret"]).verify(other.requests[0]["body"], other.requests[0]["headers"])


async def _two(client, person, subscription_id):
    found = await deliveries(client, person, subscription_id)
    return found if len(found) >= 2 else None


async def test_failing_after_the_horizon_then_a_manual_retry_recovers(env):
    settings = env.settings(**FAST_RETRY, webhook_retry_horizon_seconds=1.0)
    world = World()
    async with receiving(Receiver(statuses=[503] * 1000)) as hook, started(settings) as client:
        await seeded(settings, client, world)
        sub = await subscribe(client, world["E1"], hook.url, ["servicelog.recorded"])
        await publish_event(
            settings,
            "servicelog.recorded",
            {
                "id": str(uuid.uuid4()),
                "version": 1,
                "contract_id": world.contract,
                "agency_id": world.agency1,
                "enterprise_uscc": world.UE1,
                "visit_date": "2026-01-05",
            },
        )

        async def failing():
            r = await client.get(f"/api/v1/webhooks/{sub['id']}", headers=world["E1"].headers)
            return r.json()["status"] == "failing"

        await eventually(failing, timeout=15)
        log = await deliveries(client, world["E1"], sub["id"])
        assert len(log) >= 2
        assert all(d["status_code"] == 503 for d in log)
        assert log[0]["next_attempt_at"] is None  # the last one: no more retries
        assert [d["attempt"] for d in log] == list(range(len(log), 0, -1))
        tried = len(hook.requests)

        hook.statuses.clear()  # the receiver is fixed
        r = await client.post(
            f"/api/v1/webhooks/{sub['id']}/deliveries/{log[0]['id']}/retry", headers=world["E1"].headers
        )
        assert r.status_code == 202, r.text
        r = await client.post(
            f"/api/v1/webhooks/{sub['id']}/deliveries/{log[0]['id']}/retry", headers=world["A2"].headers
        )
        assert r.status_code == 403

        async def active():
            r = await client.get(f"/api/v1/webhooks/{sub['id']}", headers=world["E1"].headers)
            return r.json()["status"] == "active"

        await eventually(active, timeout=10)
        assert len(hook.requests) >= tried + 1
        newest = (await deliveries(client, world["E1"], sub["id"]))[0]
        assert newest["status_code"] == 204
        assert newest["attempt"] == len(log) + 1


async def test_a_slow_receiver_does_not_hold_up_another(env):
    settings = env.settings(webhook_concurrency_per_subscription=1, webhook_timeout_seconds=5.0)
    world = World()
    async with receiving(Receiver(delay=2.0)) as slow, receiving() as fast, started(settings) as client:
        await seeded(settings, client, world)
        await subscribe(client, world["E1"], slow.url, ["servicelog.recorded"])
        await subscribe(client, world["E1"], fast.url, ["servicelog.recorded"])
        for n in range(6):
            await publish_event(
                settings,
                "servicelog.recorded",
                {
                    "id": str(uuid.uuid4()),
                    "version": 1,
                    "contract_id": world.contract,
                    "agency_id": world.agency1,
                    "enterprise_uscc": world.UE1,
                    "visit_date": f"2026-02-0{n + 1}",
                },
            )
        await eventually(lambda: len(fast.requests) == 6, timeout=20)
        assert len(slow.requests) < 6, "the fast receiver had all six while the slow one was still at work"
        await eventually(lambda: len(slow.requests) == 6, timeout=40)


async def test_ssrf_refusals_outside_development(env):
    production = env.settings(env="production")
    world = World()
    async with started(production) as client:
        for url in (
            "http://example.com/hook",
            "https://127.0.0.1/hook",
            "https://10.1.2.3/hook",
            "https://192.168.1.10/hook",
            "https://169.254.169.254/latest",
            "https://[::1]/hook",
            "https://0.0.0.0/hook",
            "https://localhost/hook",
            "https://user:pw@93.184.216.34/hook",
        ):
            r = await client.post(
                "/api/v1/webhooks", json={"url": url, "events": ["hazard.reported"]}, headers=world["B703"].headers
            )
            assert r.status_code == 422, (url, r.text)
            assert r.json()["code"] == "webhook_url_refused", url
    await ssrf.check("https://93.184.216.34/hook", Settings(_env_file=None, env="production"))  # public: accepted


async def test_delivery_time_ssrf_check_and_no_redirects(env):
    """A URL accepted in development is refused at delivery by a production replica (the check
    runs before every attempt); a redirect is a failed attempt, never followed."""
    settings = env.settings(**FAST_RETRY)
    world = World()
    async with receiving(Receiver(statuses=[302])) as hook:
        async with started(settings) as client:
            await seeded(settings, client, world)
            sub = await subscribe(client, world["E1"], hook.url, ["servicelog.recorded", "hazard.reported"])
            await publish_event(settings, "hazard.reported", world.hazard())
            log = await eventually(lambda: _two(client, world["E1"], sub["id"]), timeout=15)
            assert log[-1]["status_code"] == 302
            assert log[-1]["error"] == "HTTP 302"
            assert log[0]["status_code"] == 204
            assert all(r["path"] == "/hook" for r in hook.requests)  # never the Location
        hook.requests.clear()
        async with started(env.settings(**FAST_RETRY, env="production")) as client:
            await publish_event(
                settings,
                "servicelog.recorded",
                {
                    "id": str(uuid.uuid4()),
                    "version": 1,
                    "contract_id": world.contract,
                    "agency_id": world.agency1,
                    "enterprise_uscc": world.UE1,
                    "visit_date": "2026-03-01",
                },
            )

            async def refused():
                found = await deliveries(client, world["E1"], sub["id"])
                return [d for d in found if d["event_type"] == "servicelog.recorded"]

            attempts = await eventually(refused, timeout=15)
            assert attempts[0]["error"].startswith("refused:")
            assert attempts[0]["status_code"] is None
            assert hook.requests == []
            await wait_for_item(client, world["E1"], "servicelog.recorded")
