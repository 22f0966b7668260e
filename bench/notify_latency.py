"""Notify latency (issue #15): from a service log's HTTP response (a visit with a major hazard,
recorded through the gateway) to

- the urgent item written in the district bureau's inbox (its ``created_at``, stamped in the
  transaction that commits it; the items are read through the gateway after the run), and
- the webhook delivered to a real HTTP receiver in this process (its arrival, signature checked
  with the ``standardwebhooks`` package).

The whole platform runs as processes (gateway, five services, NATS; the backend's database). One
agency records ``--events`` service logs (default 200, quick 50) one after another, 50 ms apart;
p50 and p99 over all of them. Targets: inbox p99 <= 1 s, webhook p99 <= 2 s.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import time
from typing import Any

import nats
import orjson
from aiohttp import web
from standardwebhooks.webhooks import Webhook

from bench.common import Backend, Result, delete_streams, log, percentile
from bench.custody_flow import contract_body, wait_until_known
from bench.platform import seed, start_platform
from devtools.natsserver import free_port
from devtools.testing.events import publish_event

NAME = "notify_latency"
FIGURE = "7 notify latency"
BACKENDS = ("sqlite", "postgres")
TARGET_INBOX_P99_MS = 1000.0
TARGET_WEBHOOK_P99_MS = 2000.0


async def _receiver(arrivals: dict[str, float], secret: dict[str, str]) -> tuple[web.AppRunner, str]:
    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        at = time.time()
        envelope = Webhook(secret["value"]).verify(body, dict(request.headers))
        arrivals.setdefault(envelope["data"]["id"], at)
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}/hook"


async def _collect(api: Any, bureau: Any, seen: dict[str, float]) -> None:
    """The bureau's hazard items and when each was written (``created_at``: the transaction that
    commits it), read after the run so that reading costs the measured processes nothing."""
    cursor = None
    while True:
        params = {"limit": 200, "kind": "hazard.reported", **({"cursor": cursor} if cursor else {})}
        page = (await api.get("/api/v1/inbox", params=params, headers=bureau.headers)).json()
        for item in page["items"]:
            seen.setdefault(item["subject_id"], dt.datetime.fromisoformat(item["created_at"]).timestamp())
        cursor = page.get("next_cursor")
        if not cursor:
            return


async def measure(backend: Backend, *, events: int) -> dict[str, Any]:
    platform = await start_platform(backend)
    arrivals: dict[str, float] = {}
    seen: dict[str, float] = {}
    responses: dict[str, float] = {}
    secret: dict[str, str] = {}
    on_bus: dict[str, float] = {}
    runner, url = await _receiver(arrivals, secret)
    nc = await nats.connect(backend.nats_url)

    async def bus_arrival(msg: Any) -> None:
        on_bus.setdefault(orjson.loads(msg.data)["data"]["id"], time.time())

    await nc.subscribe(f"{platform.settings.subject_prefix}.hazard.reported", cb=bus_arrival)
    try:
        api = platform.client
        s = await seed(platform, enterprises=1, agencies=1)
        await wait_until_known(api, s)
        bureau = await platform.actor("bureau", district="440703")
        await publish_event(
            platform.settings,
            "account.registered",
            {  # the gateway's event, after the merge
                "id": bureau.account["id"],
                "version": 1,
                "username": bureau.username,
                "role": "bureau",
                "district": "440703",
            },
        )
        (enterprise, e_uscc), (agency, agency_id, engineers) = s.enterprises[0], s.agencies[0]
        r = await api.post(
            "/api/v1/contracts", json=contract_body(e_uscc, agency_id, engineers[0]), headers=enterprise.headers
        )
        assert r.status_code == 201, r.text
        contract_id, terms = r.json()["id"], {"content_sha256": r.json()["content_sha256"]}
        for party in (enterprise, agency):
            signed = await api.post(f"/api/v1/contracts/{contract_id}/sign", json=terms, headers=party.headers)
            assert signed.status_code == 200, signed.text
        assert (await api.post(f"/api/v1/contracts/{contract_id}/file", headers=agency.headers)).status_code == 200
        r = await api.post(
            f"/api/v1/contracts/{contract_id}/filing-review",
            headers=s.bureau.headers,
            json={"decision": "accept", "comments": "基准"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "active"
        r = await api.post(
            "/api/v1/webhooks",
            headers=bureau.headers,
            json={"url": url, "events": ["hazard.reported"], "description": "bench"},
        )
        assert r.status_code == 201, r.text
        secret["value"] = r.json()["secret"]

        today = dt.date.today()
        for i in range(events + 5):  # the first five warm up and are not counted
            body = {
                "contract_id": contract_id,
                "visit_date": today.isoformat(),
                "engineer_name": engineers[0],
                "items": ["hazard_inspection"],
                "summary": f"基准走访 {i}",
                "hazards": [
                    {
                        "description": f"配电箱未接地 {i}",
                        "level": "major",
                        "location": "车间",
                        "deadline": (today + dt.timedelta(days=20)).isoformat(),
                    }
                ],
            }
            r = await api.post("/api/v1/service-logs", json=body, headers=agency.headers)
            done = time.time()
            assert r.status_code == 201, r.text
            if i >= 5:
                responses[r.json()["hazards"][0]["id"]] = done
            await asyncio.sleep(0.05)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            await _collect(api, bureau, seen)
            if all(k in seen and k in arrivals for k in responses):
                break
            await asyncio.sleep(0.5)
    finally:
        await nc.close()
        await runner.cleanup()
        await platform.stop()
        await delete_streams(backend.nats_url, [f"{backend.stream}_NOTIFY"])
    inbox = [(seen[k] - t) * 1000 for k, t in responses.items() if k in seen]
    hooks = [(arrivals[k] - t) * 1000 for k, t in responses.items() if k in arrivals]
    bus = [(on_bus[k] - t) * 1000 for k, t in responses.items() if k in on_bus]
    return {
        "events": len(responses),
        "inbox_missing": len(responses) - len(inbox),
        "webhook_missing": len(responses) - len(hooks),
        "inbox_p50_ms": round(percentile(inbox, 50), 1) if inbox else None,
        "inbox_p99_ms": round(percentile(inbox, 99), 1) if inbox else None,
        "webhook_p50_ms": round(percentile(hooks, 50), 1) if hooks else None,
        "webhook_p99_ms": round(percentile(hooks, 99), 1) if hooks else None,
        # where the time goes: the response to the event on the bus (the audit service's outbox)
        "bus_p50_ms": round(percentile(bus, 50), 1) if bus else None,
        "bus_p99_ms": round(percentile(bus, 99), 1) if bus else None,
        "load_average": round(os.getloadavg()[0], 1),
    }


async def run(backend: Backend, opts: Any) -> list[Result]:
    events = getattr(opts, "events", 0) or (50 if opts.quick else 200)
    m = await measure(backend, events=events)
    log(f"notify latency on {backend.kind}: {m}")
    inbox_ok = m["inbox_p99_ms"] is not None and m["inbox_p99_ms"] <= TARGET_INBOX_P99_MS and not m["inbox_missing"]
    hook_ok = (
        m["webhook_p99_ms"] is not None and m["webhook_p99_ms"] <= TARGET_WEBHOOK_P99_MS and not m["webhook_missing"]
    )
    return [
        Result(FIGURE, "→ urgent inbox item p50", backend.kind, m["inbox_p50_ms"] or -1, "ms", "", None, m),
        Result(
            FIGURE, "→ urgent inbox item p99", backend.kind, m["inbox_p99_ms"] or -1, "ms", "<= 1000 ms", inbox_ok, m
        ),
        Result(FIGURE, "→ webhook delivered p50", backend.kind, m["webhook_p50_ms"] or -1, "ms", "", None, m),
        Result(
            FIGURE, "→ webhook delivered p99", backend.kind, m["webhook_p99_ms"] or -1, "ms", "<= 2000 ms", hook_ok, m
        ),
    ]
