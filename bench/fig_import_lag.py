"""Figure — consumers under an import's burst (issue #20 item 2): the events of an N-row enterprise
import applied by every consumer, and a contract filed meanwhile reaching audit.

On the real platform (gateway + services as uvicorn processes, ``bench.platform``): a contract is
drafted and signed by both parties first; then the admin streams an N-row CSV
(``bench.import_enterprises.generate``) to ``POST /api/v1/enterprises/import`` through the gateway.
Right after the import's response the contract is filed. Measured, from the import's response:

- **import lag**: until the enterprises outbox is empty (``custody_outbox_pending``) and every
  durable consumer of the ``enterprise`` family (``<service>_enterprise``) has nothing pending and
  nothing unacknowledged (JetStream consumer info: an event is acknowledged after its batch
  committed) — target ≤ 60 s;
- **contract to audit**: from the filing's response until ``audit_contract``'s ack floor reaches the
  ``contract.filing_submitted`` event's stream sequence (audit committed it) — target ≤ 1 s.

    .venv/bin/python -m bench.run --only import_lag --backend sqlite --import-rows 20000
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import nats
from nats.js.errors import NotFoundError
from prometheus_client.parser import text_string_to_metric_families

from bench.common import Backend, Result, log
from bench.custody_flow import contract_body, wait_until_known
from bench.import_enterprises import generate
from bench.platform import seed, start_platform

NAME = "import_lag"
FIGURE = "consumers under an import"
BACKENDS = ("sqlite", "postgres")
TARGET_LAG_SECONDS = 60.0
TARGET_CONTRACT_SECONDS = 1.0
FAMILY_SUFFIX = "_enterprise"


async def outbox_pending(http: httpx.AsyncClient, url: str, service: str) -> float:
    r = await http.get(f"{url}/metrics")
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            if sample.name == "custody_outbox_pending" and sample.labels.get("service") == service:
                return sample.value
    return -1.0


async def run(backend: Backend, opts: Any) -> list[Result]:
    rows = opts.import_rows or (10_000 if opts.quick else 100_000)
    platform = await start_platform(backend, proxy_read_timeout_seconds=1800)
    nc = await nats.connect(backend.nats_url)
    js = nc.jetstream()
    stream = backend.stream
    try:
        s = await seed(platform, enterprises=1)
        await wait_until_known(platform.client, s)
        api = platform.client
        agency_actor, agency_id, engineers = s.agencies[0]
        enterprise_actor, e_uscc = s.enterprises[0]
        r = await api.post(
            "/api/v1/contracts", json=contract_body(e_uscc, agency_id, engineers[0]), headers=agency_actor.headers
        )
        assert r.status_code == 201, r.text
        cid, terms = r.json()["id"], {"content_sha256": r.json()["content_sha256"]}
        for headers in (agency_actor.headers, enterprise_actor.headers):
            r = await api.post(f"/api/v1/contracts/{cid}/sign", json=terms, headers=headers)
            assert r.status_code == 200, r.text

        with tempfile.TemporaryDirectory() as tmp:
            csv_path = Path(tmp) / "import.csv"
            generate(csv_path, rows)
            admin = await platform.admin_headers()
            log(f"import lag on {backend.kind}: {rows:,} rows through the gateway")
            started = time.perf_counter()
            async with httpx.AsyncClient(base_url=platform.url, timeout=1800) as http:
                r = await http.post(
                    "/api/v1/enterprises/import",
                    content=csv_path.read_bytes(),
                    headers={**admin, "Content-Type": "text/csv"},
                )
        answered = time.perf_counter()
        assert r.status_code == 200, r.text[:500]
        report = r.json()

        r = await api.post(f"/api/v1/contracts/{cid}/file", headers=agency_actor.headers)
        filed = time.perf_counter()
        assert r.status_code == 200, r.text
        contract_seconds = await until_audit_has_it(js, stream, f"{backend.prefix}.contract.filing_submitted", filed)

        durables = [c.name for c in await js.consumers_info(stream) if c.name.endswith(FAMILY_SUFFIX)]
        lag_seconds, last = await until_drained(js, stream, durables, platform.service_url("enterprises"), answered)
    finally:
        await nc.close()
        await platform.stop()
    detail = {
        "rows": rows,
        "import_seconds": round(answered - started, 2),
        "created": report.get("created"),
        "durables": durables,
        "last_sample": last,
        "command": f"python -m bench.run --only import_lag --backend {backend.kind} --import-rows {rows}",
    }
    log(f"import lag {backend.kind}: {detail}, lag {lag_seconds:.1f} s, contract {contract_seconds:.3f} s")
    return [
        Result(FIGURE, f"import of {rows:,} rows (response)", backend.kind, answered - started, "s", "", None, detail),
        Result(
            FIGURE,
            f"every consumer applied the {rows:,} rows, after the response",
            backend.kind,
            lag_seconds,
            "s",
            f"<= {TARGET_LAG_SECONDS:g} s",
            lag_seconds <= TARGET_LAG_SECONDS,
            detail,
        ),
        Result(
            FIGURE,
            "contract filed meanwhile, in audit",
            backend.kind,
            contract_seconds,
            "s",
            f"<= {TARGET_CONTRACT_SECONDS:g} s",
            contract_seconds <= TARGET_CONTRACT_SECONDS,
        ),
    ]


async def until_audit_has_it(js: Any, stream: str, subject: str, since: float, timeout: float = 120) -> float:
    seq = None
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if seq is None:
            try:
                seq = (await js.get_last_msg(stream, subject)).seq
            except NotFoundError:
                seq = None
        if seq is not None:
            info = await js.consumer_info(stream, "audit_contract")
            if info.ack_floor.stream_seq >= seq:
                return time.perf_counter() - since
        await asyncio.sleep(0.01)
    raise TimeoutError("the filed contract never reached audit")


async def until_drained(
    js: Any, stream: str, durables: list[str], enterprises_url: str, since: float, timeout: float = 1800
) -> tuple[float, dict[str, Any]]:
    deadline = time.perf_counter() + timeout
    relay_done: float | None = None
    timeline: list[tuple[float, float, list[int]]] = []  # (s, outbox pending, each durable's backlog)
    async with httpx.AsyncClient(timeout=10) as http:
        while time.perf_counter() < deadline:
            outbox = await outbox_pending(http, enterprises_url, "enterprises")
            infos = {d: await js.consumer_info(stream, d) for d in durables}
            now = time.perf_counter() - since
            if outbox == 0 and relay_done is None:
                relay_done = now
            if not timeline or now - timeline[-1][0] >= 10:
                timeline.append((round(now, 1), outbox, [i.num_pending + i.num_ack_pending for i in infos.values()]))
            last = {"outbox_pending": outbox, "relay_done_s": relay_done, "timeline": timeline} | {
                d: (i.num_pending, i.num_ack_pending, i.ack_floor.stream_seq) for d, i in infos.items()
            }
            if outbox == 0 and all(i.num_pending == 0 and i.num_ack_pending == 0 for i in infos.values()):
                return time.perf_counter() - since, last
            await asyncio.sleep(0.25)
    raise TimeoutError(f"consumers still behind after {timeout} s: {last}")
