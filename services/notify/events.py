"""What notify emits: nothing that other services consume (SPEC §15) — its state is the inbox and
the webhook deliveries. Its only outbound messages are the jobs on its own work queue
(workqueue.py), which are not events."""

from __future__ import annotations

from shared.events.catalog import EventType

EMITS: tuple[EventType, ...] = ()
