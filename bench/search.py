"""Chinese search (issue #20 item 4) — ``q=`` of the public directory and of the enterprise list at
10,000 agencies and 100,000 enterprises, on both backends: p95 per query shape with the n-gram index
(shared.search) and, in the same run, the LIKE baseline (the same statement without the index
clause). Target: p95 ≤ 20 ms for every shape, one- and two-character queries included. The plan
of every shape (EXPLAIN ANALYZE on PostgreSQL, EXPLAIN QUERY PLAN on SQLite) goes to
``docs/bench-plans/search-<backend>.txt``.

    python -m bench.run --only search --backend both
    python -m bench.run --only search --quick              # 1,000 agencies, 10,000 enterprises

The timed call is the repository's own ``page()`` (what the route runs, minus HTTP), on the
service's own engine. Rows are loaded straight into the services' tables by their drivers (the
migrations built them), the tokens cut by ``shared.search.token_rows`` as the repositories do.
Names are drawn as the city's are spelled: a place (江门市, 新会区, …), two characters from a pool
of 400, a trade (机械, 五金, …) and a suffix, so 江门 and 有限 are common and a name's own pair rare.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import random
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import asyncpg
import sqlalchemy as sa

from bench.common import ROOT, Backend, Result, log, percentile
from services.enterprises.models import enterprise_search
from services.enterprises.repository import Enterprises, ListFilters
from services.registry.models import directory_search
from services.registry.repository.directory import Directory, DirectoryFilters
from shared import migrations, search
from shared.auth import Principal
from shared.db import Database
from shared.ids import new_id
from shared.pagination import PageParams
from shared.reference import make_uscc
from shared.roles import Role

NAME = "search"
FIGURE = "search"
BACKENDS = ("sqlite", "postgres")
TARGET_P95_MS = 20.0
PLANS_DIR = ROOT / "docs" / "bench-plans"

PLACES = ["江门市", "蓬江区", "江海区", "新会区", "台山市", "开平市", "鹤山市", "恩平市"]
TRADES = ["机械", "五金", "纺织", "电子", "塑料", "化工", "建材", "食品", "家具", "印刷", "陶瓷", "灯饰"]
SUFFIXES = ["有限公司", "制品厂", "实业有限公司", "加工厂", "商行"]
AGENCY_KINDS = ["安全技术服务有限公司", "安全咨询有限公司", "安全评价中心", "应急管理咨询有限公司"]
POOL = (
    "华达利源盛泰丰鑫宏兴隆昌顺和祥瑞永恒通明光辉金银铜铁锦绣福寿康宁安平嘉佳美好德信诚义仁礼智勇"
    "天地人山水云风雷雨雪春夏秋冬东西南北中正大小高长远近新旧方圆红黄蓝白青紫绿黑海洋湖河江川"
    "林森木竹松柏梅兰菊荷桃李杏梨星月日辰晨曦朝阳旭升腾飞龙凤麟鹏鹤鹰燕雀凯旋胜利成功创业启航"
    "博雅文武英杰豪俊秀颖聪慧敏捷精细巧妙优良卓越超群非凡宇宙乾坤星河浩瀚辽阔广袤深厚博大精深"
    "众志合力同心协力共赢互惠互利友谊团结奋进开拓进取求实务实创新发展科技信息网络数码智能自动"
    "环保节能绿色生态健康快乐幸福吉祥如意平安富贵荣华万事亨通财源滚滚一帆风顺步步高升蒸蒸日上"
    "宝玉珠翠琳琅璀璨晶莹剔透玲珑精致典雅大方庄重朴素简洁明快热情奔放温柔体贴细腻周到"
)
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
DISTRICTS = ["440703", "440704", "440705", "440781", "440783", "440784", "440785"]


def sizes(opts: Any) -> tuple[int, int]:
    agencies = opts.agencies if opts.agencies is not None else (1_000 if opts.quick else 10_000)
    enterprises = opts.enterprises if opts.enterprises is not None else (10_000 if opts.quick else 100_000)
    return agencies, enterprises


class World:
    def __init__(self, agencies: int, enterprises: int, seed: int = 20) -> None:
        rng = random.Random(seed)
        pool = list(dict.fromkeys(POOL))

        def name(kinds: list[str]) -> str:
            return f"{rng.choice(PLACES)}{rng.choice(pool)}{rng.choice(pool)}{rng.choice(TRADES)}{rng.choice(kinds)}"

        self.agency_ids = sorted(new_id() for _ in range(agencies))
        self.agency_names = [name(AGENCY_KINDS) for _ in range(agencies)]
        self.agency_usccs = [self.uscc(rng) for i in range(agencies)]
        self.filing_nos = [f"JM-AQ-{2020 + i % 7}-{i:05d}" for i in range(agencies)]
        self.enterprise_ids = sorted(new_id() for _ in range(enterprises))
        self.enterprise_names = [name(SUFFIXES) for _ in range(enterprises)]
        self.enterprise_usccs = [self.uscc(rng) for i in range(enterprises)]
        self.rng = rng
        self.pool = pool

    @staticmethod
    def uscc(rng: random.Random) -> str:
        """As the city's are: 9 1, the district, then MA and seven characters of the code's alphabet."""
        return make_uscc(f"91{rng.choice(DISTRICTS)}MA{''.join(rng.choices(USCC_ALPHABET, k=7))}")

    def shapes(self, names: list[str], usccs: list[str]) -> dict[str, list[str]]:
        """Query shape → the queries of that shape (requests cycle through them)."""
        rng = random.Random(7)
        picks = [rng.randrange(len(names)) for _ in range(20)]
        return {
            "1 char, common (新 江 市)": ["新", "江", "市"],
            "1 char, rare (pool)": [rng.choice(self.pool) for _ in range(10)],
            "2 chars, common (江门 有限)": ["江门", "有限", "公司"],
            "2 chars, trade (机械 纺织)": ["机械", "纺织", "电子", "陶瓷"],
            "2 chars, a name's own pair": [names[i][3:5] for i in picks],
            "3+ chars, a whole name": [names[i] for i in picks],
            "3+ chars, place + own pair": [names[i][:5] for i in picks],
            "no match (2 chars)": ["龘龘", "嚻嚻"],
            "3+ chars, common pairs never together": ["有限江门", "公司新会", "商行机械"],
            "USCC/filing fragment (6+)": [usccs[i][-7:-1] for i in picks],
            "Latin, 1 char (a)": ["a"],
        }


# --- loading --------------------------------------------------------------------------------------
def agency_rows(w: World) -> Iterator[dict[str, Any]]:
    now = dt.datetime.now(dt.UTC)
    for i, agency_id in enumerate(w.agency_ids):
        served = DISTRICTS[i % len(DISTRICTS)]
        yield {
            "agency_id": agency_id,
            "agency_version": 3,
            "name": w.agency_names[i],
            "uscc": w.agency_usccs[i],
            "district_code": served,
            "filing_no": w.filing_nos[i],
            "valid_until": dt.date.today() + dt.timedelta(days=900),
            "service_districts": json.dumps([served]),
            "service_industries": json.dumps(["machinery"]),
            "registered_engineers": json.dumps(["工程师甲", "工程师乙"]),
            "listed_at": now,
        }


def enterprise_rows(w: World) -> Iterator[dict[str, Any]]:
    now = dt.datetime.now(dt.UTC)
    for i, enterprise_id in enumerate(w.enterprise_ids):
        yield {
            "id": enterprise_id,
            "uscc": w.enterprise_usccs[i],
            "name": w.enterprise_names[i],
            "industry": "machinery",
            "district_code": DISTRICTS[i % len(DISTRICTS)],
            "town": "440703001",
            "village": None,
            "address": "江门市蓬江区工业路1号",
            "employees": 20,
            "major_hazard_source": False,
            "hazard_flags": "[]",
            "contact_name": "陈经理",
            "contact_phone": "13800138000",
            "risk_level": "blue",
            "base_level": "blue",
            "version": 1,
            "created_at": now,
            "updated_at": now,
        }


def tokens(rows: list[dict[str, Any]], key: str, fields: tuple[str, ...]) -> list[dict[str, object]]:
    return search.token_rows({r[key]: tuple(r[f] for f in fields) for r in rows})


async def load(backend: Backend, w: World) -> None:
    agencies = list(agency_rows(w))
    firms = list(enterprise_rows(w))
    tables = [
        ("registry", "directory_entry", agencies),
        ("registry", directory_search.name, tokens(agencies, "agency_id", ("name", "filing_no", "uscc"))),
        ("enterprises", "enterprises", firms),
        ("enterprises", enterprise_search.name, tokens(firms, "id", ("name", "uscc"))),
    ]
    settings = backend.settings()
    for service, table, rows in tables:
        url = settings.database_url_for(service)
        log(f"loading {len(rows):,} rows into {service}.{table}")
        if backend.kind == "postgres":
            conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
            try:
                columns = list(rows[0])
                await conn.copy_records_to_table(table, records=[tuple(r.values()) for r in rows], columns=columns)
                await conn.execute(f"VACUUM ANALYZE {table}")  # what autovacuum does after a bulk load
            finally:
                await conn.close()
        else:
            path = url.split(":///", 1)[1]
            with contextlib.closing(sqlite3.connect(path)) as conn:
                columns = list(rows[0])
                marks = ", ".join("?" for _ in columns)

                def cell(v: object) -> object:  # as SQLAlchemy stores them on SQLite
                    if isinstance(v, uuid.UUID):
                        return v.hex
                    if isinstance(v, dt.datetime):
                        return v.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
                    if isinstance(v, dt.date):
                        return v.isoformat()
                    return v

                conn.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                    ([cell(v) for v in r.values()] for r in rows),
                )
                conn.commit()


# --- measuring ------------------------------------------------------------------------------------
class Statements:
    """The last statement a session ran (for its plan), seen through the engine's own event."""

    def __init__(self, engine: Any) -> None:
        self.last: tuple[str, Any] = ("", ())
        sa.event.listen(engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if "FROM" in statement and not statement.lstrip().upper().startswith("EXPLAIN"):
            self.last = (statement, parameters)


async def explain(db: Database, statement: str, parameters: Any) -> str:
    async with db.reader() as session:
        conn = await session.connection()
        if db.is_sqlite:
            plan: list[Any] = list((await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)).all())
            return "\n".join(f"{'  ' * (r[1] and 1)}{r[3]}" for r in plan)
        lines: list[Any] = list(
            (await conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters)).all()
        )
        return "\n".join(r[0] for r in lines)


async def measure(db: Database, run: Callable[[Any, str], Any], queries: list[str], n: int) -> tuple[list[float], int]:
    times: list[float] = []
    found = 0
    for i in range(n):
        q = queries[i % len(queries)]
        async with db.reader() as session:
            started = time.perf_counter()
            rows, _ = await run(session, q)
            times.append((time.perf_counter() - started) * 1000)
        found += len(rows)
    return times, found


@contextlib.contextmanager
def like_only() -> Iterator[None]:
    """The baseline: the same statements without the index clause (today's LIKE alone)."""
    original = search.matches

    async def none(session: Any, table: Any, row_id: Any, q: str) -> sa.ColumnElement[bool] | None:
        return None

    search.matches = none
    try:
        yield
    finally:
        search.matches = original


async def run(backend: Backend, opts: Any) -> list[Result]:
    n_agencies, n_enterprises = sizes(opts)
    n = opts.queries or (60 if opts.quick else 200)
    settings = backend.settings()
    dbs = {}
    for service in ("registry", "enterprises"):
        db = Database(settings.database_url_for(service), service=service)
        await db.ensure_database()
        await migrations.upgrade(db, service)
        dbs[service] = db
    w = World(n_agencies, n_enterprises)
    started = time.perf_counter()
    await load(backend, w)
    log(f"loaded in {time.perf_counter() - started:.1f} s")
    params = PageParams(limit=50)
    admin = Principal(subject="bench", role=Role.ADMIN)

    async def directory_page(session: Any, q: str) -> Any:
        return await Directory(session).page(DirectoryFilters(q=q), params, start_score=80, start_grade="B")

    async def enterprise_page(session: Any, q: str) -> Any:
        return await Enterprises(session).page(admin, ListFilters(q=q), params)

    lists = [
        ("directory", dbs["registry"], directory_page, w.shapes(w.agency_names, w.filing_nos)),
        ("enterprises", dbs["enterprises"], enterprise_page, w.shapes(w.enterprise_names, w.enterprise_usccs)),
    ]
    results: list[Result] = []
    plans: list[str] = [
        f"-- q= search plans on {backend.kind}: {n_agencies:,} agencies, {n_enterprises:,} enterprises; "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "-- captured by bench/search.py (python -m bench.run --only search --backend both)",
    ]
    try:
        for list_name, db, page, shapes in lists:
            seen = Statements(db.read_engine)
            for shape, queries in shapes.items():
                await measure(db, page, queries, min(10, n))  # warm the cache
                with like_only():
                    await measure(db, page, queries, min(10, n))
                    base, base_found = await measure(db, page, queries, max(20, n // 4))
                    like_plan = await explain(db, *seen.last)
                times, found = await measure(db, page, queries, n)
                indexed_plan = await explain(db, *seen.last)
                p95, base_p95 = percentile(times, 95), percentile(base, 95)
                log(f"{list_name} {shape}: p95 {p95:.2f} ms (LIKE {base_p95:.2f} ms), {found / n:.1f} rows")
                results.append(
                    Result(
                        FIGURE,
                        f"{list_name} q= {shape} p95",
                        backend.kind,
                        round(p95, 2),
                        "ms",
                        target=f"<= {TARGET_P95_MS:g} ms",
                        ok=p95 <= TARGET_P95_MS,
                        detail={
                            "p50": round(percentile(times, 50), 2),
                            "p99": round(percentile(times, 99), 2),
                            "like_p95": round(base_p95, 2),
                            "like_p50": round(percentile(base, 50), 2),
                            "rows_per_query": round(found / n, 1),
                            "like_rows_per_query": round(base_found / max(20, n // 4), 1),
                            "requests": n,
                            "queries": queries[:5],
                        },
                    )
                )
                plans += [
                    "",
                    f"==== {list_name}: {shape} — q={queries[0]!r}",
                    f"-- indexed: p95 {p95:.2f} ms; LIKE baseline: p95 {base_p95:.2f} ms",
                    indexed_plan,
                    "-- LIKE baseline plan:",
                    like_plan,
                ]
    finally:
        for db in dbs.values():
            await db.dispose()
    PLANS_DIR.mkdir(parents=True, exist_ok=True)
    (PLANS_DIR / f"search-{backend.kind}.txt").write_text("\n".join(plans) + "\n")
    return results
