"""Small helpers for fault tests: measured outcomes printed in one greppable line (and appended to
``$RELIABILITY_LOG`` when set) so that docs/RELIABILITY.md quotes what a run really measured."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import nats


def record(name: str, **counts: Any) -> dict[str, Any]:
    line = {"fault": name, **counts}
    print(f"\nRELIABILITY {json.dumps(line, ensure_ascii=False, default=str)}")
    path = os.environ.get("RELIABILITY_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(
                json.dumps(
                    {**line, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, ensure_ascii=False, default=str
                )
                + "\n"
            )
    return line


async def stream_ids(servers: list[str], stream: str) -> list[str]:
    """The ``Nats-Msg-Id`` (= event id) of every message in a stream, oldest first."""
    from shared.events.envelope import CloudEvent

    nc = await nats.connect(servers, connect_timeout=2, max_reconnect_attempts=5)
    try:
        js = nc.jetstream(timeout=5)
        info = await js.stream_info(stream)
        ids = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            try:
                msg = await js.get_msg(stream, seq)
            except Exception:
                continue
            ids.append(CloudEvent.from_json(msg.data).id)
        return ids
    finally:
        await nc.close()
