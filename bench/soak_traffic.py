"""The soak's traffic (``bench/soak.py``): a pacer shared by every worker, a counter of requests,
4xx by path and failures (any 5xx or transport error), and the operations of the mix."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import random
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.custody_flow import contract_body
from bench.platform import enterprise_body, salt, uscc
from devtools.testing.platform import Actor, Platform
from tests.files import png

PASSWORD = "Pa55word-for-tests"  # devtools.testing.platform's accounts
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
PORTAL_PAGES = {
    "bureau": [
        "/portal/dashboard",
        "/portal/contracts",
        "/portal/hazards",
        "/portal/complaints",
        "/portal/enterprises",
    ],
    "agency": ["/portal/agency", "/portal/contracts", "/portal/visits", "/portal/hazards"],
    "enterprise": ["/portal/enterprise", "/portal/contracts", "/portal/visits", "/portal/hazards"],
}


class Pacer:
    """Request starts at most ``rate`` per second, over every worker."""

    def __init__(self, rate: float) -> None:
        self.gap = 1.0 / rate
        self.next_at = time.monotonic()
        self.lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self.lock:
            now = time.monotonic()
            self.next_at = max(self.next_at + self.gap, now)
            delay = self.next_at - now
        if delay > 0:
            await asyncio.sleep(delay)


@dataclass
class Traffic:
    pacer: Pacer
    requests: int = 0
    errors: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    first_errors: list[str] = field(default_factory=list)
    first_refusals: dict[str, str] = field(default_factory=dict)  # a 4xx key → its first body

    async def call(self, http: httpx.AsyncClient, method: str, path: str, **kw: Any) -> httpx.Response | None:
        await self.pacer.wait()
        self.requests += 1
        route = re.sub(r"[0-9a-f-]{36}", "{id}", path.split("?")[0])
        try:
            r = await http.request(method, path, **kw)
        except httpx.HTTPError as exc:
            self._failed(f"{method} {route}: {type(exc).__name__} {exc}")
            return None
        if r.status_code >= 500:
            self._failed(f"{method} {route}: {r.status_code} {r.text[:200]}")
        elif r.status_code >= 400:
            key = f"{r.status_code} {method} {route}"
            self.by_status[key] += 1
            self.first_refusals.setdefault(key, r.text[:300])
        return r

    def _failed(self, what: str) -> None:
        self.errors += 1
        self.by_status["5xx/transport"] += 1
        if len(self.first_errors) < 10:
            self.first_errors.append(what[:300])


@dataclass
class World:
    platform: Platform
    bureau: Actor
    agencies: list[tuple[Actor, str, list[str]]]
    contracts: list[dict[str, Any]] = field(default_factory=list)  # active: id, agency, enterprise, engineer
    hazards: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (hazard id, its contract)
    complaints: list[str] = field(default_factory=list)
    portal: list[tuple[str, httpx.AsyncClient]] = field(default_factory=list)  # (role, signed-in session)
    tag: str = field(default_factory=salt)
    seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))


def ok(r: httpx.Response | None, *codes: int) -> bool:
    return r is not None and r.status_code in (codes or (200,))


# --- the operations ---------------------------------------------------------------------------
async def directory_read(w: World, t: Traffic) -> None:
    api = w.platform.client
    r = await t.call(api, "GET", "/api/v1/directory/agencies", params={"limit": "20"})
    if ok(r) and r is not None and r.json().get("items"):
        await t.call(api, "GET", f"/api/v1/directory/agencies/{random.choice(r.json()['items'])['id']}")


async def signed_in_list(w: World, t: Traffic) -> None:
    lists = ["/api/v1/contracts", "/api/v1/hazards", "/api/v1/service-logs", "/api/v1/inbox"]
    actor = random.choice([w.bureau, random.choice(w.agencies)[0], random.choice(w.contracts)["enterprise"]])
    path = random.choice([*lists, "/api/v1/enterprises"] if actor is w.bureau else lists)
    await t.call(w.platform.client, "GET", path, params={"limit": "20"}, headers=actor.headers)


async def portal_view(w: World, t: Traffic) -> None:
    role, session = random.choice(w.portal)
    await t.call(session, "GET", random.choice(PORTAL_PAGES[role]))


async def photo(w: World, t: Traffic, actor: Actor) -> str | None:
    files = {"file": ("photo.png", png(random.randrange(65536)), "image/png")}
    r = await t.call(w.platform.client, "POST", "/api/v1/attachments", files=files, headers=actor.headers)
    return r.json()["id"] if ok(r, 201) and r is not None else None


async def visit(w: World, t: Traffic) -> None:
    if not w.contracts:
        return
    c = random.choice(w.contracts)
    attachment = await photo(w, t, c["agency"])
    today = dt.date.today()
    body = {
        "contract_id": c["id"],
        "visit_date": today.isoformat(),
        "engineer_name": c["engineer"],
        "items": ["hazard_inspection"],
        "summary": f"月度隐患排查（第 {next(w.seq)} 次）",  # the summary is part of a visit's identity
        "attachments": [attachment] if attachment else [],
        "hazards": [
            {
                "description": "灭火器过期未更换",
                "level": "general",
                "location": "一号仓库",
                "deadline": (today + dt.timedelta(days=20)).isoformat(),
            }
        ],
    }
    api = w.platform.client
    r = await t.call(api, "POST", "/api/v1/service-logs", json=body, headers=c["agency"].headers)
    if not ok(r, 201) or r is None:
        return
    log_ = r.json()
    w.hazards.extend((h["id"], c) for h in log_.get("hazards", []))
    await t.call(api, "POST", f"/api/v1/service-logs/{log_['id']}/confirm", headers=c["enterprise"].headers)


async def rectification(w: World, t: Traffic) -> None:
    if not w.hazards:
        return
    hazard_id, c = w.hazards.pop(random.randrange(len(w.hazards)))
    attachment = await photo(w, t, c["enterprise"])
    api = w.platform.client
    body = {"note": "已更换灭火器", "attachments": [attachment] if attachment else []}
    r = await t.call(api, "POST", f"/api/v1/hazards/{hazard_id}/rectify", json=body, headers=c["enterprise"].headers)
    if ok(r):
        await t.call(api, "POST", f"/api/v1/hazards/{hazard_id}/verify", json={}, headers=c["agency"].headers)


async def complaint(w: World, t: Traffic) -> None:
    if not w.contracts:
        return
    c = random.choice(w.contracts)
    api = w.platform.client
    body = {
        "agency_id": c["agency_id"],
        "contract_id": c["id"],
        "category": "service_quality",
        "description": "检查走过场，未附现场照片。",
    }
    r = await t.call(api, "POST", "/api/v1/complaints", json=body, headers=c["enterprise"].headers)
    if ok(r, 201) and r is not None:
        cid = r.json()["id"]
        await t.call(api, "POST", f"/api/v1/complaints/{cid}/forward", json={}, headers=w.bureau.headers)
        await t.call(api, "GET", f"/api/v1/complaints/{cid}", headers=c["agency"].headers)


async def draft_cancelled(w: World, t: Traffic) -> None:
    if not w.contracts:
        return
    c = random.choice(w.contracts)
    api = w.platform.client
    body = contract_body(c["uscc"], c["agency_id"], c["engineer"])
    after = dt.date.fromisoformat(body["end_date"]) + dt.timedelta(days=1)  # the renewal: after the live term
    body |= {"start_date": after.isoformat(), "end_date": (after + dt.timedelta(days=364)).isoformat()}
    r = await t.call(api, "POST", "/api/v1/contracts", json=body, headers=c["agency"].headers)
    if ok(r, 201) and r is not None:
        await t.call(api, "POST", f"/api/v1/contracts/{r.json()['id']}/cancel", headers=c["agency"].headers)


async def new_custody(w: World, t: Traffic | None = None) -> None:
    """A new enterprise signs up and registers, then a whole custody contract: draft (agency), both
    signatures, filing, acceptance (the bureau)."""
    api, n = w.platform.client, next(w.seq)
    agency, agency_id, engineers = w.agencies[n % len(w.agencies)]
    e_uscc = uscc("E", n, w.tag)
    enterprise = await w.platform.actor("enterprise", org_uscc=e_uscc)
    if t is not None:
        t.requests += 5  # sign-up, verification, client, token (outside the pacer: rare)
    call = t.call if t is not None else None

    async def send(method: str, path: str, **kw: Any) -> httpx.Response | None:
        if call is not None:
            return await call(api, method, path, **kw)
        return await api.request(method, path, **kw)

    r = await send("POST", "/api/v1/enterprises", json=enterprise_body(e_uscc, n), headers=enterprise.headers)
    if not ok(r, 201):
        return
    engineer = engineers[(n // len(w.agencies)) % len(engineers)]
    body = contract_body(e_uscc, agency_id, engineer)
    deadline = time.monotonic() + 30  # the contracts service hears of the enterprise from an event
    while True:
        r = await send("POST", "/api/v1/contracts", json=body, headers=agency.headers)
        if ok(r, 201) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    if not ok(r, 201) or r is None:
        return
    cid, terms = r.json()["id"], {"content_sha256": r.json()["content_sha256"]}
    for path, actor, payload in (
        (f"/api/v1/contracts/{cid}/sign", agency, terms),
        (f"/api/v1/contracts/{cid}/sign", enterprise, terms),
        (f"/api/v1/contracts/{cid}/file", agency, None),
        (f"/api/v1/contracts/{cid}/filing-review", w.bureau, {"decision": "accept", "comments": "同意"}),
    ):
        r = await send("POST", path, json=payload, headers=actor.headers)
        if not ok(r):
            return
    w.contracts.append(
        {
            "id": cid,
            "agency": agency,
            "agency_id": agency_id,
            "enterprise": enterprise,
            "uscc": e_uscc,
            "engineer": engineer,
        }
    )


# (operation, weight): reads dominate, as they do in the city
MIX = [
    (directory_read, 20),
    (signed_in_list, 25),
    (portal_view, 20),
    (visit, 8),
    (rectification, 6),
    (complaint, 3),
    (draft_cancelled, 4),
    (new_custody, 1),
]
