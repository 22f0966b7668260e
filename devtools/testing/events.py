"""Putting real events on the bus in tests (as another service would), and reading them back."""

from __future__ import annotations

from typing import Any

import nats

from shared.events.catalog import source_of, validate_event_data
from shared.events.envelope import CLOUDEVENTS_CONTENT_TYPE, CloudEvent
from shared.settings import Settings


def make_event(event_type: str, data: dict[str, Any], **fields: Any) -> CloudEvent:
    payload = validate_event_data(event_type, data)
    return CloudEvent(source=source_of(event_type), type=event_type, subject=str(payload["id"]), data=payload, **fields)


async def publish_event(settings: Settings, event_type: str, data: dict[str, Any], **fields: Any) -> CloudEvent:
    """Publish one catalog event on the settings' stream, exactly as a relay would."""
    event = make_event(event_type, data, **fields)
    nc = await nats.connect(settings.nats_servers)
    try:
        js = nc.jetstream()
        await js.publish(
            settings.subject_for(event_type),
            event.to_json(),
            headers={"Nats-Msg-Id": event.id, "Content-Type": CLOUDEVENTS_CONTENT_TYPE},
        )
    finally:
        await nc.close()
    return event


async def read_events(settings: Settings, *, event_type: str | None = None) -> list[CloudEvent]:
    """Every event in the settings' stream (optionally of one type), oldest first."""
    nc = await nats.connect(settings.nats_servers)
    try:
        js = nc.jetstream()
        try:
            info = await js.stream_info(settings.stream_name)
        except Exception:
            return []
        events = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            try:
                msg = await js.get_msg(settings.stream_name, seq)
            except Exception:
                continue
            event = CloudEvent.from_json(msg.data or b"")
            if event_type is None or event.type == event_type:
                events.append(event)
        return events
    finally:
        await nc.close()
