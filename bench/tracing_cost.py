"""Tracing's cost (issue #21 item 1): CPU per request with tracing on at 10 % sampling ÷ off.

Two platforms run side by side on the same backend, one without ``CUSTODY_OTLP_ENDPOINT`` (the
no-op tracer) and one exporting to a real OTLP/HTTP receiver in this process at a sample ratio of
0.1. Both are seeded alike; the authenticated ``GET /api/v1/contracts/{id}`` through the gateway
(gateway → contracts → database) is loaded on each in turn for ``rounds`` alternations, and the CPU
the gateway and the contracts process spend per request is compared (median of the rounds).
Target: ≤ 1.1.
"""

from __future__ import annotations

import statistics
from typing import Any

from bench.common import Backend, Result, log
from bench.custody_flow import contract_body, wait_until_known
from bench.fig_gateway import cpu_per_request
from bench.platform import seed, start_platform
from devtools.testing.otlp import OtlpReceiver

NAME = "tracing_cost"
FIGURE = "10 tracing cost"
BACKENDS = ("sqlite", "postgres")
TARGET = 1.1
SAMPLE_RATIO = 0.1


async def _contract_path(platform) -> tuple[str, dict[str, str]]:
    s = await seed(platform, enterprises=1)
    await wait_until_known(platform.client, s)
    _actor, e_uscc = s.enterprises[0]
    r = await platform.client.post(
        "/api/v1/contracts", json=contract_body(e_uscc, s.agency_id, s.engineers[0]), headers=s.agency.headers
    )
    assert r.status_code == 201, r.text
    return f"/api/v1/contracts/{r.json()['id']}", s.agency.headers


async def run(backend: Backend, opts: Any) -> list[Result]:
    duration = opts.duration or (3 if opts.quick else 8)
    rounds = 3 if opts.quick else 5
    receiver = OtlpReceiver()
    await receiver.start()
    off = await start_platform(backend)
    traced = await start_platform(
        backend,
        log_dir="logs-traced",
        data_dir=backend.workdir / "var-traced",
        stream_name=f"{backend.stream}T",
        subject_prefix=f"{backend.prefix}t",
        otlp_endpoint=receiver.url,
        trace_sample_ratio=SAMPLE_RATIO,
        **({"database_url": f"{backend.settings().database_url}t"} if backend.kind == "postgres" else {}),
    )
    try:
        targets = {"off": (off, *await _contract_path(off)), "on": (traced, *await _contract_path(traced))}
        measured: dict[str, list[dict[str, Any]]] = {"off": [], "on": []}
        for _ in range(rounds + 1):  # the first round warms both up and is not counted
            for label, (platform, path, headers) in targets.items():
                pids = {name: platform.supervisor.component(name).process.pid for name in ("gateway", "contracts")}
                measured[label].append(
                    await cpu_per_request(platform.url + path, pids, headers, duration=duration, connections=16)
                )
        per_request = {
            label: statistics.median(sum(m["cpu_us_per_request"].values()) for m in rounds_[1:])
            for label, rounds_ in measured.items()
        }
        ratio = per_request["on"] / per_request["off"]
        log(
            f"tracing cost on {backend.kind}: {per_request['on']:.0f} µs on, {per_request['off']:.0f} µs off "
            f"(ratio {ratio:.3f}); {len(receiver.spans)} spans received"
        )
        return [
            Result(
                FIGURE,
                f"CPU per request, tracing on at {SAMPLE_RATIO:.0%} ÷ off (gateway + contracts)",
                backend.kind,
                round(ratio, 3),
                "",
                f"<= {TARGET}",
                ratio <= TARGET and bool(receiver.spans),
                {
                    "cpu_us_per_request": per_request,
                    "rounds": measured,
                    "spans_received": len(receiver.spans),
                    "duration": duration,
                },
            )
        ]
    finally:
        await traced.stop()
        await off.stop()
        await receiver.stop()
