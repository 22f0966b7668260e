"""Soak (issue #20 item 7): an hour of modest mixed traffic on the embedded default — SQLite, the
supervisor's own nats-server, every service, the gateway and the portal as processes, as ``make
run`` starts them — while every process's resident memory, open files, threads and TCP connections
are sampled. The question is whether they level off.

    python -m bench.run --only soak --backend sqlite --duration 3600   # --duration 120 to check it works

The load (``--soak-rate`` requests/s, default 6, paced over all workers; the machine is shared):
public directory reads, signed-in lists, portal page views of a signed-in bureau, agency and
enterprise, visits with a photo and a hazard (countersigned), the hazard rectified with a photo and
verified, complaints filed and forwarded, contract drafts cancelled, and now and then a new
enterprise signing up and going through a whole custody contract (``bench/soak_traffic.py``). Any
5xx or transport error is a failure; 4xx answers are counted by path.

Samples (every 30 s, ``--sample-seconds``) go to ``docs/bench-plans/soak-<date>.csv`` and the
curves to ``docs/bench-plans/soak.svg`` for a run of an hour or more (shorter runs: ``var/bench/``);
``bench/soak_series.py`` reads them.
"""

from __future__ import annotations

import asyncio
import random
import time
import traceback
from contextlib import suppress
from pathlib import Path
from typing import Any

import httpx

from bench.common import ROOT, VAR, Backend, Result, log
from bench.footprint import embedded_platform
from bench.platform import approved_agency
from bench.soak_series import Sample, sample_row, self_view, summarise, svg, table, write_csv
from bench.soak_traffic import CSRF, MIX, PASSWORD, Pacer, Traffic, World, new_custody
from devtools.testing.platform import Actor, Platform

NAME = "soak"
FIGURE = "soak"
BACKENDS = ("sqlite",)  # the embedded default
WORKERS = 4
AGENCIES = 3
FIRST_CONTRACTS = 6


async def signed_in(platform: Platform, actor: Actor) -> httpx.AsyncClient:
    """A portal session of ``actor``: the gateway's login form, as a person signs in."""
    session = httpx.AsyncClient(base_url=platform.url, follow_redirects=True, timeout=30.0)
    form = await session.get("/portal/login")
    token = CSRF.search(form.text)
    assert token, f"no login form: {form.status_code} {form.url}"
    done = await session.post(
        str(form.url), data={"csrf": token.group(1), "username": actor.username, "password": PASSWORD}
    )
    assert done.status_code == 200 and "/portal" in str(done.url), f"login failed: {done.status_code} {done.url}"
    return session


async def prepare(platform: Platform) -> World:
    bureau = await platform.actor("bureau", district="440700")
    world = World(platform, bureau, [])
    for _ in range(AGENCIES):
        actor, agency_id = await approved_agency(platform, bureau, engineers=20, tag=world.tag)
        world.agencies.append((actor, agency_id, [f"工程师{i:03d}" for i in range(20)]))
    for _ in range(FIRST_CONTRACTS):
        await new_custody(world)
    assert world.contracts, "no custody contract became active while seeding"
    world.portal = [
        ("bureau", await signed_in(platform, bureau)),
        ("agency", await signed_in(platform, world.agencies[0][0])),
        ("enterprise", await signed_in(platform, world.contracts[0]["enterprise"])),
    ]
    return world


async def drive(world: World, traffic: Traffic, until: float) -> None:
    ops = [op for op, _ in MIX]
    weights = [weight for _, weight in MIX]
    while time.monotonic() < until:
        op = random.choices(ops, weights)[0]
        try:
            await op(world, traffic)
        except Exception as exc:  # a bench bug, not the platform's: say so, keep going
            traffic.by_status[f"bench error in {op.__name__}: {type(exc).__name__}"] += 1
            if traffic.by_status[f"bench error in {op.__name__}: {type(exc).__name__}"] == 1:
                traceback.print_exc()


async def sample_all(platform: Platform, http: httpx.AsyncClient, traffic: Traffic, t_s: float) -> list[Sample]:
    targets: list[tuple[str, int, str | None]] = [
        (c.name, c.process.pid, c.url) for c in platform.supervisor.components if c.process
    ]
    nats = platform.supervisor.nats
    if nats is not None and nats.process is not None:
        targets.append(("nats-server", nats.process.pid, None))
    views = await asyncio.gather(*(self_view(http, url) for _, _, url in targets))
    rows = [
        sample_row(t_s, name, pid, (traffic.requests, traffic.errors), own)
        for (name, pid, _), own in zip(targets, views, strict=True)
    ]
    return [r for r in rows if r is not None]


async def sampler(platform: Platform, traffic: Traffic, started: float, every: float, samples: list[Sample]) -> None:
    async with httpx.AsyncClient() as http:
        while True:
            t_s = time.monotonic() - started
            rows = await sample_all(platform, http, traffic, t_s)
            samples.extend(rows)
            total = sum(r.rss_mib for r in rows)
            log(f"soak {t_s / 60:5.1f} min: RSS {total:.0f} MiB, {traffic.requests} requests, {traffic.errors} errors")
            await asyncio.sleep(every)


async def refresher(world: World, every: float = 600.0) -> None:
    """Tokens live 15 minutes (access_token_ttl_seconds): every actor gets a fresh one every 10."""
    platform = world.platform
    while True:
        await asyncio.sleep(every)
        platform._admin_token = None
        actors = [world.bureau, *(a for a, _, _ in world.agencies), *(c["enterprise"] for c in world.contracts)]
        for actor in actors:
            with suppress(Exception):  # a failed refresh shows as 401s in the counts
                actor.token = await platform.token(actor.client_id, actor.client_secret)


def outputs(duration: float) -> tuple[Path, Path]:
    stamp = time.strftime("%Y-%m-%d")
    if duration >= 3600:
        folder = ROOT / "docs" / "bench-plans"
        return folder / f"soak-{stamp}.csv", folder / "soak.svg"
    return VAR / f"soak-{stamp}-{int(duration)}s.csv", VAR / f"soak-{int(duration)}s.svg"


async def run(backend: Backend, opts: Any) -> list[Result]:
    duration = float(opts.duration or (120 if opts.quick else 3600))
    rate = float(getattr(opts, "soak_rate", 0) or 6)
    every = float(getattr(opts, "sample_seconds", 0) or (30 if duration >= 600 else 10))
    platform = embedded_platform(backend)
    await platform.start(timeout=120)
    samples: list[Sample] = []
    traffic = Traffic(Pacer(rate))
    world: World | None = None
    try:
        log("soak: seeding agencies, enterprises and their first custody contracts")
        world = await prepare(platform)
        log(f"soak: {len(world.contracts)} active contracts; {rate:g} requests/s for {duration:g} s")
        started = time.monotonic()
        watch = asyncio.create_task(sampler(platform, traffic, started, every, samples))
        fresh = asyncio.create_task(refresher(world))
        await asyncio.gather(*(drive(world, traffic, started + duration) for _ in range(WORKERS)))
        samples.extend(await _last(platform, traffic, started))
        for task in (watch, fresh):
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        elapsed = time.monotonic() - started
    finally:
        if world is not None:
            for _, session in world.portal:
                await session.aclose()
        await platform.stop()
    return report(samples, traffic, duration, elapsed, rate)


async def _last(platform: Platform, traffic: Traffic, started: float) -> list[Sample]:
    async with httpx.AsyncClient() as http:
        return await sample_all(platform, http, traffic, time.monotonic() - started)


def report(samples: list[Sample], traffic: Traffic, duration: float, elapsed: float, rate: float) -> list[Result]:
    csv_path, svg_path = outputs(duration)
    write_csv(samples, csv_path)
    title = f"soak: {elapsed / 60:.0f} min of mixed traffic at {rate:g} req/s on the embedded default"
    svg_path.write_text(svg(samples, title), encoding="utf-8")
    rows = summarise(samples)
    print(table(rows))
    print(
        f"requests {traffic.requests}, failures (5xx/transport) {traffic.errors}, "
        f"{traffic.requests / elapsed:.2f} req/s over {elapsed:.0f} s"
    )
    for line in traffic.first_errors:
        print(f"  failure: {line}")
    for key, count in traffic.by_status.most_common(20):
        print(f"  {count:6d}  {key}  {traffic.first_refusals.get(key, '')[:200]}")
    log(f"soak: samples in {csv_path}, curves in {svg_path}")
    results = [
        Result(
            FIGURE,
            f"RSS slope last 30 min: {r['process']}",
            "sqlite",
            r["slope_mib_h"],
            "MiB/h",
            "levels off",
            r["levelled"],
            r,
        )
        for r in rows
    ]
    results.append(
        Result(
            FIGURE,
            "requests (failures must be 0)",
            "sqlite",
            traffic.requests,
            "",
            "0 failures",
            traffic.errors == 0,
            {
                "failures": traffic.errors,
                "first": traffic.first_errors,
                "by_status": dict(traffic.by_status),
                "csv": str(csv_path),
                "svg": str(svg_path),
                "seconds": round(elapsed, 1),
            },
        )
    )
    return results
