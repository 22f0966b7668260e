"""Operator helpers behind ``custody events tail``, ``custody dlq`` and ``custody sweep``."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from rich.console import Console


class OpsError(RuntimeError):
    pass


def admin_call(
    gateway: str, admin_id: str, admin_secret: str, method: str, path: str, *, params: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One admin API call through the gateway with a client_credentials token."""
    gateway = gateway.rstrip("/")
    try:
        with httpx.Client(base_url=gateway, timeout=30.0) as client:
            r = client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(admin_id, admin_secret))
            if r.status_code != 200:
                raise OpsError(f"admin token refused ({r.status_code}): {r.text[:300]}")
            token = r.json()["access_token"]
            r = client.request(method, path, params=params, headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError as exc:
        raise OpsError(f"{gateway} unreachable: {exc} — is the platform running (make run)?") from exc
    try:
        body = r.json()
    except ValueError:
        body = {"body": r.text}
    if r.status_code >= 400:
        detail = body.get("detail") or body.get("title") if isinstance(body, dict) else body
        raise OpsError(f"{method} {path} → {r.status_code}: {detail}")
    return body if isinstance(body, dict) else {"items": body}


def format_envelope(envelope: dict[str, Any]) -> str:
    data = envelope.get("data") or {}
    keys = ("status", "name", "filing_no", "level", "score", "grade", "risk_level")
    summary = " ".join(f"{k}={data[k]}" for k in keys if isinstance(data, dict) and data.get(k) is not None)
    return (
        f"{envelope.get('time', '')}  [bold]{envelope.get('type', '?')}[/bold]  {envelope.get('source', '')}  "
        f"subject={envelope.get('subject', '')}  v{data.get('version', '?') if isinstance(data, dict) else '?'}  {summary}"
    )


async def tail(
    servers: list[str],
    subject: str,
    *,
    count: int = 0,
    raw: bool = False,
    console: Console | None = None,
    ready: asyncio.Event | None = None,
) -> list[dict[str, Any]]:
    """Subscribe to ``subject`` (core NATS: every JetStream publish is seen) and print envelopes."""
    import nats

    console = console or Console()
    seen: list[dict[str, Any]] = []
    done = asyncio.Event()
    nc = await nats.connect(servers=servers, connect_timeout=3, max_reconnect_attempts=-1, name="custody-events-tail")

    async def on_message(msg: Any) -> None:
        try:
            envelope = json.loads(msg.data)
        except ValueError:
            envelope = {"type": "?", "subject": msg.subject, "data": {"raw": msg.data[:200].decode(errors="replace")}}
        seen.append(envelope)
        if raw:
            print(json.dumps(envelope, ensure_ascii=False), flush=True)
        else:
            console.print(format_envelope(envelope), highlight=False, soft_wrap=True)
        if count and len(seen) >= count:
            done.set()

    await nc.subscribe(subject, cb=on_message)
    await nc.flush()
    if ready is not None:
        ready.set()
    else:
        console.print(f"watching {subject} on {', '.join(servers)} — Ctrl-C stops", style="dim")
    try:
        await done.wait()
    finally:
        await nc.drain()
    return seen
