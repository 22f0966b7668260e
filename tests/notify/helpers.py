"""Starting notify in-process, and reading inboxes through its API."""

from __future__ import annotations

from typing import Any

import nats

from devtools.testing.apps import running
from devtools.testing.events import make_event, publish_event
from devtools.testing.tokens import verifier
from devtools.testing.wait import eventually
from services.notify.main import create_app
from shared.settings import Settings
from tests.notify.world import Person, World, seed


def notify_app(settings: Settings, **kw: Any):
    return create_app(settings, verifier=verifier(), **kw)


def started(settings: Settings, **kw: Any):
    return running(notify_app(settings, **kw))


async def items(client, person: Person, **params: Any) -> list[dict[str, Any]]:
    r = await client.get("/api/v1/inbox", params={"limit": 200, **params}, headers=person.headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def wait_for_item(client, person: Person, kind: str, *, timeout: float = 10.0, count: int = 1):
    async def arrived():
        found = await items(client, person, kind=kind)
        return found if len(found) >= count else None

    return await eventually(arrived, timeout=timeout)


async def seeded(settings: Settings, client, world: World) -> None:
    """Seed the world and wait until notify has applied all of it (a sentinel after it)."""
    await seed(settings, world)
    await publish_event(
        settings,
        "organisation.verified",
        {
            "id": world.UE2,
            "version": 1,
            "uscc": world.UE2,
            "kind": "enterprise",
            "name": "E2",
            "status": "verified",
            "district": "440703",
        },
    )
    await wait_for_item(client, world["E2"], "organisation.verified")


async def publish_many(settings: Settings, events: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """Publish several catalog events over one connection (a burst); their ids."""
    nc = await nats.connect(settings.nats_servers)
    ids = []
    try:
        js = nc.jetstream()
        for event_type, data in events:
            event = make_event(event_type, data)
            await js.publish(settings.subject_for(event_type), event.to_json(), headers={"Nats-Msg-Id": event.id})
            ids.append(event.id)
    finally:
        await nc.close()
    return ids
