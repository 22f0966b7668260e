"""``custody demo``: a realistic Jiangmen data set, seeded through the public API only.

The admin creates the city bureau ``jm-bureau`` and district bureaus; agencies sign up, file,
submit and are approved (one is left waiting for review) — approval of its first filing verifies an
agency's organisation (SPEC §14); enterprises sign up, the city bureau verifies their organisations,
and they register in real towns;
contracts are created, signed by both parties, filed and accepted (one is left waiting to be filed);
agencies record visits with hazards; an enterprise complains. What the bureau sees on its dashboard
is therefore what the services decided, not what a script wrote into a database.

Steps that depend on another service having heard an event (a contract needs the contracts service
to know the approved agency and the registered enterprise) are retried for a while: read models are
eventually consistent.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx

from shared.reference import load_jurisdiction, make_uscc

DEMO_PASSWORD = "Jiangmen-demo-2026"
CITY_BUREAU = "jm-bureau"
DISTRICT_BUREAUS = {
    "440703": "pj-bureau",
    "440704": "jh-bureau",
    "440705": "xh-bureau",
    "440781": "ts-bureau",
    "440783": "kp-bureau",
    "440784": "hs-bureau",
    "440785": "ep-bureau",
}

# (name, home district, service districts, service industries, engineers)
AGENCIES = [
    (
        "江门市安泰安全技术服务有限公司",
        "440703",
        ["440703", "440704", "440705"],
        ["machinery", "light_industry", "textiles", "commerce_trade", "other"],
        ["李志强", "陈淑华", "黄国栋"],
    ),
    (
        "江门市粤安安全咨询有限公司",
        "440705",
        ["440705", "440703", "440781"],
        ["hazardous_chemicals", "building_materials", "machinery", "construction"],
        ["梁永康", "谭美玲"],
    ),
    (
        "台山市恒信安全生产技术服务有限公司",
        "440781",
        ["440781", "440785"],
        ["light_industry", "textiles", "commerce_trade", "fireworks"],
        ["伍家明", "甄丽芳"],
    ),
    (
        "开平市安达安全评价有限公司",
        "440783",
        ["440783", "440784", "440785"],
        ["machinery", "metallurgy", "nonferrous_metals", "building_materials"],
        ["关伟文", "司徒敏"],
    ),
    (
        "鹤山市众安安全技术有限公司",
        "440784",
        ["440784", "440703", "440704"],
        ["textiles", "light_industry", "machinery", "other"],
        ["冯建华", "区晓燕"],
    ),
    (
        "江海区新安安全服务有限公司",
        "440704",
        ["440704", "440703"],
        ["machinery", "commerce_trade", "light_industry"],
        ["吴志伟", "林小红"],
    ),  # left waiting for review
]

# (name, industry, district, employees, major hazard source, hazard flags, agency index or None)
ENTERPRISES = [
    ("江门市蓬江区利达五金制品厂", "machinery", "440703", 45, False, ["special_equipment"], 0),
    ("江门市江海区华艺纺织有限公司", "textiles", "440704", 80, False, ["dust_explosion"], 0),
    ("江门市新会区冠华塑料制品有限公司", "light_industry", "440705", 35, False, [], 0),
    ("江门市新会区兴达化工有限公司", "hazardous_chemicals", "440705", 60, True, ["hazardous_chemicals_use"], 1),
    ("江门市蓬江区建安混凝土有限公司", "building_materials", "440703", 52, False, ["special_equipment"], 1),
    ("台山市大江镇海鲜冷冻厂", "light_industry", "440781", 28, False, ["ammonia_refrigeration"], 2),
    ("恩平市恩城百货商行", "commerce_trade", "440785", 12, False, [], 2),
    ("开平市水口镇卫浴五金厂", "machinery", "440783", 90, False, ["metal_melting"], 3),
    ("鹤山市沙坪织造有限公司", "textiles", "440784", 40, False, [], 4),
    ("江门市江海区信达电子厂", "machinery", "440704", 25, False, [], 0),  # left waiting to be filed
]
SMALL = {"agencies": [0, 1, 5], "enterprises": [0, 2, 3, 9]}

HAZARDS = [
    ("配电箱门未关闭，线路裸露", "general", "一号车间"),
    ("粉尘清扫记录缺失，除尘器未定期清理", "general", "打磨工位"),
    ("危化品仓库未设置防泄漏围堰", "major", "化学品仓库"),
    ("叉车未年检，操作人员无证上岗", "general", "成品仓"),
    ("有限空间作业未审批", "major", "污水池"),
    ("消防通道被货物堵塞", "general", "二楼通道"),
]


@dataclass
class DemoResult:
    gateway: str
    bureau_username: str = CITY_BUREAU
    bureau_password: str = DEMO_PASSWORD
    district_bureaus: dict[str, str] = field(default_factory=dict)
    agencies: list[dict[str, Any]] = field(default_factory=list)
    enterprises: list[dict[str, Any]] = field(default_factory=list)
    contracts: list[dict[str, Any]] = field(default_factory=list)
    service_logs: int = 0
    hazards: int = 0
    complaints: int = 0
    already_seeded: bool = False


class DemoError(RuntimeError):
    pass


def _digits(seed: str, n: int) -> str:
    return str(int(hashlib.sha256(seed.encode()).hexdigest(), 16))[:n].rjust(n, "0")


def uscc_for(kind: str, index: int, district: str, tag: str = "") -> str:
    """A valid, deterministic USCC: 91 (enterprise) + district + 'MA' + 7 characters + check."""
    return make_uscc(f"91{district}MA{_digits(f'{kind}-{index}-{tag}', 7)}")


def phone_for(seed: str) -> str:
    return f"0750-3{_digits(seed, 6)}"


class Seeder:
    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        admin_id: str,
        admin_secret: str,
        tag: str = "",
        patience: float = 30.0,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.client = client
        self.admin_id = admin_id
        self.admin_secret = admin_secret
        self.tag = tag
        self.patience = patience
        self.progress = progress or (lambda _step: None)
        self.tokens: dict[str, str] = {}
        self.clients: dict[str, tuple[str, str]] = {}

    # --- plumbing ----------------------------------------------------------------------------
    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json: Any = None,
        ok: tuple[int, ...] = (200, 201),
        retry: bool = False,
        params: dict[str, Any] | None = None,
    ) -> httpx.Response:
        """One API call; with ``retry``, 409/422/404/503 are retried until ``patience`` runs out
        (another service has not heard an event yet)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        deadline = asyncio.get_running_loop().time() + self.patience
        delay = 0.2
        while True:
            try:
                response = await self.client.request(method, path, json=json, headers=headers, params=params)
            except httpx.HTTPError as exc:
                if asyncio.get_running_loop().time() > deadline:
                    raise DemoError(f"{method} {path}: {exc}") from exc
                response = None
            if response is not None and response.status_code in ok:
                return response
            lagging = response is None or response.status_code in (404, 409, 422, 429, 502, 503)
            if not retry or not lagging or asyncio.get_running_loop().time() > deadline:
                detail = response.text[:500] if response is not None else "no answer"
                raise DemoError(f"{method} {path} → {response.status_code if response is not None else '-'}: {detail}")
            await asyncio.sleep(delay)
            delay = min(delay * 1.6, 2.0)

    async def client_token(self, client_id: str, client_secret: str) -> str:
        r = await self.client.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, client_secret)
        )
        if r.status_code != 200:
            raise DemoError(f"token for {client_id}: {r.status_code} {r.text[:200]}")
        return str(r.json()["access_token"])

    async def admin(self) -> str:
        if "admin" not in self.tokens:
            self.tokens["admin"] = await self.client_token(self.admin_id, self.admin_secret)
        return self.tokens["admin"]

    async def account(
        self,
        username: str,
        role: str,
        *,
        district: str | None = None,
        org_uscc: str | None = None,
        display_name: str | None = None,
        verify_with: str | None = None,
    ) -> tuple[str, bool]:
        """Create the account and a client acting as it; returns ``(token, created)``. With
        ``verify_with`` (a bureau's token), the bureau verifies the organisation it opened."""
        admin = await self.admin()
        if role in ("agency", "enterprise"):
            r = await self.client.post(
                "/api/v1/accounts",
                json={
                    "username": username,
                    "password": DEMO_PASSWORD,
                    "role": role,
                    "org_uscc": org_uscc,
                    "display_name": display_name or username,
                },
            )
            if r.status_code == 201 and verify_with and r.json().get("org_status") == "pending":
                await self.call(
                    "POST",
                    f"/api/v1/organisations/{org_uscc}/verify",
                    token=verify_with,
                    json={"decision": "verify", "comments": "营业执照核验一致"},
                )
        else:
            body: dict[str, Any] = {"username": username, "password": DEMO_PASSWORD, "role": role}
            if district:
                body["district"] = district
            r = await self.client.post(
                "/api/v1/admin/accounts", json=body, headers={"Authorization": f"Bearer {admin}"}
            )
        if r.status_code not in (201, 409):
            raise DemoError(f"account {username}: {r.status_code} {r.text[:300]}")
        created = r.status_code == 201
        r = await self.call(
            "POST", "/api/v1/admin/clients", token=admin, json={"username": username, "name": f"{username} (demo)"}
        )
        creds = r.json()
        token = await self.client_token(creds["client_id"], creds["client_secret"])
        self.tokens[username] = token
        self.clients[username] = (creds["client_id"], creds["client_secret"])
        return token, created

    async def verified_token(self, username: str, org_uscc: str) -> str:
        """A fresh token once the organisation is verified (approving an agency's first filing
        verifies it over the bus: the token from before still says ``pending``)."""
        admin = await self.admin()
        await self.call("GET", f"/api/v1/organisations/{org_uscc}", token=admin)
        deadline = asyncio.get_running_loop().time() + self.patience
        while (await self.call("GET", f"/api/v1/organisations/{org_uscc}", token=admin)).json()["status"] != "verified":
            if asyncio.get_running_loop().time() > deadline:
                raise DemoError(f"organisation {org_uscc} was not verified")
            await asyncio.sleep(0.3)
        token = await self.client_token(*self.clients[username])
        self.tokens[username] = token
        return token

    async def new_agency(
        self,
        name: str,
        home: str,
        serves: list[str],
        industries: list[str],
        engineers: list[str],
        *,
        uscc: str,
        approve_with: str | None,
        number: int = 0,
    ) -> dict[str, Any]:
        """An agency signs up, files and submits; ``approve_with`` (a bureau token) approves it."""
        jur = load_jurisdiction()
        today = date.today()
        valid_until = (today + timedelta(days=3 * 365)).isoformat()
        token, _ = await self.account(f"agency-{uscc.lower()}", "agency", org_uscc=uscc, display_name=name)
        staff = [
            {
                "name": e,
                "role": "registered_safety_engineer",
                "certificate_no": f"ZA{_digits(e + uscc, 8)}",
                "certificate_valid_until": valid_until,
                "full_time": True,
            }
            for e in engineers
        ]
        staff += [
            {"name": f"{s}{number + 1}", "role": "safety_officer", "full_time": True}
            for s in ("安全员甲", "安全员乙", "安全员丙")
        ]
        body = {
            "uscc": uscc,
            "name": f"{name}{self.tag}",
            "legal_representative": engineers[0],
            "contact_phone": phone_for(name),
            "address": f"{jur.name_of(home)}{_first_town(jur, home)}建设路{number + 8}号",
            "district_code": home,
            "service_districts": serves,
            "service_industries": industries,
            "staff": staff,
            "qualifications": [
                {
                    "type": "安全生产技术服务机构备案",
                    "number": f"粤应急备{_digits(name + uscc, 6)}",
                    "issuer": "广东省应急管理厅",
                    "valid_from": (today - timedelta(days=365)).isoformat(),
                    "valid_until": valid_until,
                }
            ],
        }
        agency = (await self.call("POST", "/api/v1/agencies", token=token, json=body)).json()
        agency = (await self.call("POST", f"/api/v1/agencies/{agency['id']}/submit", token=token)).json()
        if approve_with:
            agency = (
                await self.call(
                    "POST",
                    f"/api/v1/agencies/{agency['id']}/review",
                    token=approve_with,
                    json={"decision": "approve", "comments": "材料齐全，准予备案"},
                )
            ).json()
            token = await self.verified_token(f"agency-{uscc.lower()}", uscc)
        return {**agency, "token": token, "engineers": engineers}

    # --- the story ---------------------------------------------------------------------------
    async def run(self, result: DemoResult, *, small: bool = False) -> DemoResult:
        jur = load_jurisdiction()
        today = date.today()
        t = self.tag
        agency_rows = [AGENCIES[i] for i in SMALL["agencies"]] if small else AGENCIES
        enterprise_rows = [ENTERPRISES[i] for i in SMALL["enterprises"]] if small else ENTERPRISES
        agency_index = {AGENCIES.index(a): n for n, a in enumerate(agency_rows)}

        # bureaus
        city_token, created = await self.account(f"{CITY_BUREAU}{t}", "bureau", district=jur.city.code)
        result.bureau_username = f"{CITY_BUREAU}{t}"
        if not created:
            result.already_seeded = True
            self.progress("bureaus")
            return result
        for code, username in DISTRICT_BUREAUS.items():
            await self.account(f"{username}{t}", "bureau", district=code)
            result.district_bureaus[code] = f"{username}{t}"
        self.progress("bureaus")

        # agencies: sign up, file, submit; the city bureau approves all but the last
        for n, row in enumerate(agency_rows):
            index = AGENCIES.index(row)
            agency = await self.new_agency(
                *row,
                uscc=uscc_for("agency", index, row[1], t),
                approve_with=city_token if index != 5 else None,
                number=n,
            )
            result.agencies.append(agency)
            self.progress("agencies")

        # enterprises register themselves in real towns
        for n, (name, industry, district, employees, major, flags, _agency) in enumerate(enterprise_rows):
            index = ENTERPRISES.index(enterprise_rows[n])
            uscc = uscc_for("enterprise", index, district, t)
            token, _ = await self.account(
                f"ent-{uscc.lower()}", "enterprise", org_uscc=uscc, display_name=name, verify_with=city_token
            )
            town = _first_town(jur, district, offset=index)
            body = {
                "uscc": uscc,
                "name": f"{name}{t}",
                "industry": industry,
                "district_code": district,
                "town": town,
                "address": f"{jur.name_of(district)}{town}工业大道{index + 3}号",
                "employees": employees,
                "major_hazard_source": major,
                "hazard_flags": flags,
                "contact_name": "张经理",
                "contact_phone": f"1380750{_digits(name, 4)}",
            }
            enterprise = (await self.call("POST", "/api/v1/enterprises", token=token, json=body)).json()
            result.enterprises.append({**enterprise, "token": token, "agency": agency_index.get(ENTERPRISES[index][6])})
            self.progress("enterprises")

        # contracts: created by the enterprise, signed by both, filed, accepted by the bureau; every
        # other contract started four months ago, so that the sweep finds missed visits
        for n, enterprise in enumerate(result.enterprises):
            if enterprise["agency"] is None:
                continue
            agency = result.agencies[enterprise["agency"]]
            if agency.get("status") != "approved":
                continue
            engineer = agency["engineers"][n % len(agency["engineers"])]
            start = today - timedelta(days=120) if n % 2 == 1 else today
            end = start + timedelta(days=364)
            body = {
                "enterprise_uscc": enterprise["uscc"],
                "agency_id": agency["id"],
                "engineer_name": engineer,
                "services": [
                    {"item": "hazard_inspection", "times_per_year": 12},
                    {"item": "safety_training", "times_per_year": 4},
                    {"item": "emergency_plan", "times_per_year": 1},
                ],
                "start_date": start.isoformat(),
                "end_date": end.isoformat(),
                "fee_yuan": 12000 + 3000 * (n % 4),
            }
            contract = (
                await self.call("POST", "/api/v1/contracts", token=enterprise["token"], json=body, retry=True)
            ).json()
            cid = contract["id"]
            terms = {"content_sha256": contract["content_sha256"]}  # what both parties sign (SPEC §9)
            await self.call("POST", f"/api/v1/contracts/{cid}/sign", token=enterprise["token"], json=terms, retry=True)
            contract = (
                await self.call("POST", f"/api/v1/contracts/{cid}/sign", token=agency["token"], json=terms, retry=True)
            ).json()
            contract = (
                await self.call("POST", f"/api/v1/contracts/{cid}/file", token=enterprise["token"], retry=True)
            ).json()
            last = n == len(result.enterprises) - 1
            if not last:  # the last one waits in the bureau's queue
                contract = (
                    await self.call(
                        "POST",
                        f"/api/v1/contracts/{cid}/filing-review",
                        token=city_token,
                        retry=True,
                        json={"decision": "accept", "comments": "符合实施方案要求，予以备案"},
                    )
                ).json()
            result.contracts.append({**contract, "enterprise": enterprise, "agency": agency, "start": start})
            self.progress("contracts")

        # visits with hazards on active contracts; the enterprise countersigns. A visit is recorded
        # within max_log_delay_days (3) of its day (SPEC §16), so on the contracts that started months
        # ago the visit is three days old with a deadline the day after it: past, for the sweep to find.
        for n, contract in enumerate(c for c in result.contracts if c.get("status") in ("active", "filed")):
            hazards = [HAZARDS[n % len(HAZARDS)]] + ([HAZARDS[(n + 2) % len(HAZARDS)]] if n % 2 == 0 else [])
            late = contract["start"] < today
            visit = today - timedelta(days=3) if late else today
            body = {
                "contract_id": contract["id"],
                "visit_date": visit.isoformat(),
                "engineer_name": contract["engineer_name"],
                "items": ["hazard_inspection", "safety_training"],
                "summary": "按托管协议开展月度隐患排查和全员安全培训。",
                "hazards": [
                    {
                        "description": d,
                        "level": lvl,
                        "location": loc,
                        "deadline": (visit + timedelta(days=1 if late else 60 if lvl == "major" else 20)).isoformat(),
                    }
                    for d, lvl, loc in hazards
                ],
            }
            log = (
                await self.call(
                    "POST", "/api/v1/service-logs", token=contract["agency"]["token"], json=body, retry=True
                )
            ).json()
            result.service_logs += 1
            result.hazards += len(hazards)
            await self.call(
                "POST", f"/api/v1/service-logs/{log['id']}/confirm", token=contract["enterprise"]["token"], retry=True
            )
            self.progress("service_logs")

        # complaints: one forwarded to the agency, one waiting to be forwarded
        active = [c for c in result.contracts if c.get("status") in ("active", "filed")]
        if active:
            first, newest = active[0], active[-1]
            forwarded = (
                await self.call(
                    "POST",
                    "/api/v1/complaints",
                    token=newest["enterprise"]["token"],
                    retry=True,
                    json={
                        "agency_id": newest["agency"]["id"],
                        "contract_id": newest["id"],
                        "category": "service_quality",
                        "description": "隐患排查报告内容空泛，未附现场照片。",
                    },
                )
            ).json()
            await self.call(
                "POST",
                f"/api/v1/complaints/{forwarded['id']}/forward",
                token=city_token,
                retry=True,
                json={"note": "请机构十日内书面答复。"},
            )
            await self.call(
                "POST",
                "/api/v1/complaints",
                token=first["enterprise"]["token"],
                retry=True,
                json={
                    "agency_id": first["agency"]["id"],
                    "contract_id": first["id"],
                    "category": "missed_visit",
                    "description": "约定每月上门排查，本月工程师未按时到场，电话联系也未回复。",
                },
            )
            result.complaints += 2
        self.progress("complaints")

        # today's sweep: missed visits and overdue hazards, as the daily job would find them
        admin = await self.admin()
        for service in ("contracts", "audit"):
            with contextlib.suppress(DemoError):  # not essential to the story; the periodic sweep will do it
                await self.call("POST", "/api/v1/admin/sweep", token=admin, params={"service": service})
        self.progress("sweep")
        return result


def _first_town(jur: Any, district: str, offset: int = 0) -> str:
    towns = [a for a in jur.areas.values() if a.level == "town" and a.parent == district]
    return towns[offset % len(towns)].name if towns else ""


def steps(small: bool = False) -> int:
    agencies = len(SMALL["agencies"]) if small else len(AGENCIES)
    enterprises = len(SMALL["enterprises"]) if small else len(ENTERPRISES)
    return 1 + agencies + enterprises * 3 + 2


async def seed(
    gateway: str,
    *,
    admin_id: str,
    admin_secret: str,
    small: bool = False,
    tag: str = "",
    progress: Callable[[str], None] | None = None,
    patience: float = 30.0,
) -> DemoResult:
    async with httpx.AsyncClient(base_url=gateway, timeout=20.0) as client:
        seeder = Seeder(
            client, admin_id=admin_id, admin_secret=admin_secret, tag=tag, progress=progress, patience=patience
        )
        return await seeder.run(DemoResult(gateway=gateway), small=small)
