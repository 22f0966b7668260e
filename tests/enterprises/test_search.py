"""The enterprise list's q= through its n-gram index (shared.search, D58), on both backends:
one-, two- and longer Chinese queries, USCC fragments in either case and width, LIKE's wildcards as
literals, and the index in step with registration, a rename and an import."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from services.enterprises.models import enterprise_search
from shared import search
from shared.search import row_tokens
from tests.enterprises.factories import admin, csv_text, enterprise_body, import_csv, register, service


async def tokens_of(client, enterprise_id: str) -> set[str]:
    runtime = client._transport.app.state.runtime
    async with runtime.db.reader() as session:
        stmt = sa.select(enterprise_search.c.token).where(enterprise_search.c.row_id == uuid.UUID(enterprise_id))
        return set((await session.execute(stmt)).scalars())


async def test_q_finds_substrings_of_any_length(backend):
    async with service(backend) as (client, _):
        a = await register(client, name="江门市新会区机械厂")
        b = await register(client, name="台山Ａｂｃ纺织有限公司")  # stored NFKC: 台山Abc纺织有限公司
        c = await register(client, name="开平100%_五金店")

        async def ids(q: str) -> list[str]:
            r = await client.get("/api/v1/enterprises", params={"q": q}, headers=admin())
            assert r.status_code == 200, r.text
            return [i["id"] for i in r.json()["items"]]

        assert await ids("新") == [a["id"]]
        assert await ids("机械") == [a["id"]]
        assert await ids("江门") == [a["id"]]
        assert await ids("新会区机械") == [a["id"]]
        assert await ids("有限公司") == [b["id"]]
        assert await ids("机新") == []
        assert await ids("abc") == [b["id"]]  # case-insensitive, as lower(name) LIKE was
        assert await ids("ＡＢＣ纺") == [b["id"]]  # full-width input
        assert await ids("%") == [c["id"]]
        assert await ids("_") == [c["id"]]
        assert await ids("0%_") == [c["id"]]
        assert await ids("%五") == []
        assert await ids(" 江门 ") == [a["id"]]  # stripped, as before
        assert await ids(a["uscc"][-6:]) == [a["id"]]
        assert await ids(a["uscc"][-5:].lower()) == [a["id"]]
        assert sorted(await ids("9")) == sorted([a["id"], b["id"], c["id"]])

        # a rename rewrites the tokens in the same transaction
        p = await client.patch(
            f"/api/v1/enterprises/{a['id']}", json={"name": "鹤山五金制品厂"}, headers={**admin(), "If-Match": '"1"'}
        )
        assert p.status_code == 200, p.text
        assert await ids("新") == []
        assert await ids("五金") == [a["id"], c["id"]]
        assert await tokens_of(client, a["id"]) == row_tokens(["鹤山五金制品厂", a["uscc"]])


async def test_imported_and_reimported_rows_are_indexed(backend):
    async with service(backend) as (client, _):
        first = enterprise_body(name="恩平电子厂")
        r = await import_csv(client, csv_text([first]))
        assert r.status_code == 200, r.text
        listed = await client.get("/api/v1/enterprises", params={"q": "电子"}, headers=admin())
        (item,) = listed.json()["items"]
        assert item["uscc"] == first["uscc"]
        r = await import_csv(client, csv_text([first | {"name": "恩平塑料厂"}]))
        assert r.status_code == 200, r.text
        gone = await client.get("/api/v1/enterprises", params={"q": "电子"}, headers=admin())
        assert gone.json()["items"] == []
        assert await tokens_of(client, item["id"]) == row_tokens(["恩平塑料厂", first["uscc"]])


async def test_common_tokens_give_the_same_rows(backend, monkeypatch):
    """Every token "common" (RARE = 1): the other branch of shared.search.matches, same results."""
    monkeypatch.setattr(search, "RARE", 1)
    async with service(backend) as (client, _):
        a = await register(client, name="江门市新会区机械厂")
        b = await register(client, name="江门市机电商行")

        async def ids(q: str) -> list[str]:
            r = await client.get("/api/v1/enterprises", params={"q": q}, headers=admin())
            assert r.status_code == 200, r.text
            return [i["id"] for i in r.json()["items"]]

        assert await ids("江门") == [a["id"], b["id"]]
        assert await ids("机") == [a["id"], b["id"]]
        assert await ids("机械") == [a["id"]]
        assert await ids("新会区机械厂") == [a["id"]]
        assert await ids("机电机械") == []
