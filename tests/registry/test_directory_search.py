"""The directory's q= through its n-gram index (shared.search, D58), on both backends: one-,
two- and longer Chinese queries, filing-number and USCC fragments, full-width input, LIKE's
wildcards as literals, and the index following the list when an agency leaves and comes back."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from devtools.testing.apps import running
from services.registry.models import directory_search
from tests.registry.factories import agency_body, agency_in, app_for, ok

DIRECTORY = "/api/v1/directory/agencies"


async def tokens_of(client, agency_id: str) -> int:
    runtime = client._transport.app.state.runtime
    async with runtime.db.reader() as session:
        stmt = sa.select(sa.func.count()).where(directory_search.c.row_id == uuid.UUID(agency_id))
        return int((await session.execute(stmt)).scalar_one())


async def test_q_finds_substrings_of_any_length(backend):
    async with running(app_for(backend.settings())) as client:
        a = await agency_in(client, "approved", agency_body(name="江门市新会区安泰安全咨询有限公司"))
        b = await agency_in(client, "approved", agency_body(name="鹤山机械安全评价中心"))
        c = await agency_in(client, "approved", agency_body(name="=开平100%安全_技术服务部"))

        async def ids(q: str) -> list[str]:
            r = await client.get(DIRECTORY, params={"q": q})
            assert r.status_code == 200, r.text
            return [i["id"] for i in r.json()["items"]]

        assert await ids("新") == [a["id"]]
        assert await ids("安") == [a["id"], b["id"], c["id"]]
        assert await ids("江门") == [a["id"]]
        assert await ids("机械") == [b["id"]]
        assert await ids("安全评价") == [b["id"]]
        assert await ids("新会区安泰") == [a["id"]]
        assert await ids("会新") == []  # both characters, not in this order
        assert await ids("%") == [c["id"]]
        assert await ids("_") == [c["id"]]
        assert await ids("0%安") == [c["id"]]
        assert await ids("100％") == [c["id"]]  # a full-width percent sign is the same literal
        assert await ids("%技") == []  # "%" literal: not "anything, then 技"
        assert await ids("机械安全评价中心之外") == []
        assert await ids(a["filing_no"][-4:]) == [a["id"]]
        assert await ids(b["uscc"]) == [b["id"]]
        assert await ids(b["uscc"].lower()) == [b["id"]]
        wide = b["uscc"].translate({i: i + 0xFEE0 for i in range(0x21, 0x7F)})  # ＡＢ… as a Chinese IME types it
        assert await ids(wide) == [b["id"]]
        assert await ids(b["uscc"][:8]) == []  # a USCC is matched whole, as before

        # leaving the list takes the entry's tokens with it; coming back writes them again
        held = await tokens_of(client, a["id"])
        assert held > 0
        a = await ok(client, a, "suspend")
        assert await ids("新") == []
        assert await tokens_of(client, a["id"]) == 0
        await ok(client, a, "reinstate")
        assert await ids("新") == [a["id"]]
        assert await tokens_of(client, a["id"]) == held
