"""The real platform for the figures that go through the gateway: ``devtools.testing.platform.Platform``
(gateway + four services as uvicorn processes on one backend) with benchmark settings — the
per-client proxy rate limit and the token-endpoint limit raised out of reach (a load generator is one
client on one address; the limiter's code still runs on every request) — and the seed data a custody
flow needs: a city bureau, an approved agency with enough registered engineers, enterprises with
their own accounts."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import uuid
from dataclasses import dataclass, field
from typing import Any

from bench.common import Backend, log, rss_mib
from devtools.testing.platform import Actor, Platform
from shared.reference import make_uscc

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_seq = itertools.count(1)

BENCH_OVERRIDES = {
    "auth_rate_limit": 1_000_000,
    "proxy_rate_per_second": 1e9,
    "proxy_rate_burst": 1_000_000_000,
    "log_level": "WARNING",
}


def uscc(kind: str, n: int, salt: str) -> str:
    """A valid USCC unique per (kind, n, salt): 91 + 440703 + kind letter + salt (3) + n (5 digits)."""
    return make_uscc(f"91440703{kind}{salt}{n:06d}"[:17])


def salt() -> str:
    raw = uuid.uuid4().int
    return "".join(USCC_CHARS[(raw >> (5 * i)) % 31] for i in range(2))


async def start_platform(backend: Backend, *, log_dir: str = "logs", **overrides: Any) -> Platform:
    platform = Platform(backend.settings(**{**BENCH_OVERRIDES, **overrides}), backend.workdir / log_dir)
    try:
        await platform.start(timeout=120)
    except Exception:
        await platform.stop()
        for path in sorted((backend.workdir / log_dir).glob("*.log")):
            log(f"--- {path.name}\n{path.read_text()[-2000:]}")
        raise
    return platform


def process_rss(platform: Platform) -> dict[str, float | None]:
    return {c.name: (rss_mib(c.process.pid) if c.process else None) for c in platform.supervisor.components}


def agency_body(agency_uscc: str, name: str, engineers: int) -> dict[str, Any]:
    valid = (dt.date.today() + dt.timedelta(days=700)).isoformat()
    staff = [
        {
            "name": f"工程师{i:03d}",
            "role": "registered_safety_engineer",
            "certificate_no": f"ZA{agency_uscc[-8:]}{i:03d}",
            "certificate_valid_until": valid,
            "full_time": True,
        }
        for i in range(engineers)
    ]
    staff += [{"name": f"员工{i}", "role": "safety_officer", "full_time": True} for i in range(4)]
    return {
        "uscc": agency_uscc,
        "name": name,
        "legal_representative": "张三",
        "contact_phone": "13800138000",
        "address": "江门市蓬江区建设路1号",
        "district_code": "440703",
        "service_districts": ["440703", "440704", "440705"],
        "service_industries": ["machinery", "light_industry"],
        "staff": staff,
        "qualifications": [
            {
                "type": "安全评价",
                "number": f"Q-{agency_uscc[-6:]}",
                "issuer": "广东省应急管理厅",
                "valid_from": "2024-01-01",
                "valid_until": valid,
            }
        ],
    }


def enterprise_body(enterprise_uscc: str, n: int, district: str = "440703") -> dict[str, Any]:
    return {
        "uscc": enterprise_uscc,
        "name": f"江门市基准测试企业{n}号",
        "industry": "machinery",
        "district_code": district,
        "town": "棠下镇",
        "address": f"棠下镇工业大道{n}号",
        "employees": 10 + n % 90,
        "major_hazard_source": False,
        "hazard_flags": [],
        "contact_name": "王五",
        "contact_phone": "13912345678",
    }


@dataclass
class Seed:
    bureau: Actor
    agencies: list[tuple[Actor, str, list[str]]]  # (actor, agency id, registered engineers)
    enterprises: list[tuple[Actor, str]] = field(default_factory=list)  # (actor, uscc)

    def agency_for(self, i: int) -> tuple[Actor, str, list[str]]:
        """Enterprise i contracts with agency i mod the number of agencies."""
        return self.agencies[i % len(self.agencies)]

    # the first agency, for figures that need one
    @property
    def agency(self) -> Actor:
        return self.agencies[0][0]

    @property
    def agency_id(self) -> str:
        return self.agencies[0][1]

    @property
    def engineers(self) -> list[str]:
        return self.agencies[0][2]


async def approved_agency(platform: Platform, bureau: Actor, *, engineers: int, tag: str) -> tuple[Actor, str]:
    api = platform.client
    agency_uscc = uscc("A", next(_seq), tag)
    agency = await platform.actor("agency", org_uscc=agency_uscc)
    r = await api.post(
        "/api/v1/agencies",
        json=agency_body(agency_uscc, f"基准安全技术服务公司{tag}", engineers),
        headers=agency.headers,
    )
    assert r.status_code == 201, r.text
    agency_id = r.json()["id"]
    r = await api.post(
        f"/api/v1/agencies/{agency_id}/documents",
        files={"file": ("licence.pdf", PDF, "application/pdf")},
        data={"kind": "business_licence"},
        headers=agency.headers,
    )
    assert r.status_code == 201, r.text
    r = await api.post(f"/api/v1/agencies/{agency_id}/submit", headers=agency.headers)
    assert r.status_code == 200, r.text
    r = await api.post(
        f"/api/v1/agencies/{agency_id}/review",
        json={"decision": "approve", "comments": "基准测试"},
        headers=bureau.headers,
    )
    assert r.status_code == 200 and r.json()["status"] == "approved", r.text
    return agency, agency_id


async def seed(platform: Platform, *, enterprises: int, agencies: int = 1, concurrency: int = 8) -> Seed:
    """A city bureau, ``agencies`` approved agencies (enough engineers for their share), and
    ``enterprises`` enterprises each with its own account."""
    tag = salt()
    bureau = await platform.actor("bureau", district="440700")
    per_agency = -(-enterprises // agencies)
    engineers = max(2, per_agency // 10 + 1)
    gate = asyncio.Semaphore(concurrency)

    async def one_agency(k: int) -> tuple[Actor, str, list[str]]:
        async with gate:
            actor, agency_id = await approved_agency(platform, bureau, engineers=engineers, tag=tag)
            return actor, agency_id, [f"工程师{i:03d}" for i in range(engineers)]

    result = Seed(bureau, list(await asyncio.gather(*(one_agency(k) for k in range(agencies)))))

    async def one(n: int) -> None:
        async with gate:
            e_uscc = uscc("E", n, tag)
            actor = await platform.actor("enterprise", org_uscc=e_uscc)
            r = await platform.client.post(
                "/api/v1/enterprises", json=enterprise_body(e_uscc, n), headers=actor.headers
            )
            assert r.status_code == 201, r.text
            result.enterprises.append((actor, e_uscc))

    await asyncio.gather(*(one(n) for n in range(enterprises)))
    return result
