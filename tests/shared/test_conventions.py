"""SPEC §5 conventions every endpoint inherits from shared/: problem+json errors, content types,
Idempotency-Key, ETag / If-Match, cursor pagination, request ids and language."""

from __future__ import annotations

import uuid
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field

from devtools.testing.apps import running
from devtools.testing.tokens import auth, verifier
from shared.app import ServiceSpec, UoW, create_service_app
from shared.auth import CurrentPrincipal
from shared.errors import NotFound
from shared.http import IfMatch, set_etag
from shared.ids import new_id
from shared.pagination import Page, PageParams, keyset, page_of, page_params
from shared.reference import USCC, DistrictCode

meta = sa.MetaData()
things = sa.Table(
    "things",
    meta,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("name", sa.String(100)),
    sa.Column("version", sa.Integer, nullable=False),
)
router = APIRouter()


class ThingIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    uscc: USCC | None = None
    district_code: DistrictCode | None = None
    count: int = Field(0, ge=0, le=1000)


@router.post("/things", status_code=201)
async def create(uow: UoW, body: ThingIn, _: CurrentPrincipal) -> dict:
    async with uow:
        thing_id = new_id()
        await uow.session.execute(sa.insert(things).values(id=thing_id, name=body.name, version=1))
    return {"id": str(thing_id), "name": body.name, "version": 1}


@router.get("/things")
async def listing(uow: UoW, params: Annotated[PageParams, Depends(page_params)]) -> Page[dict]:
    async with uow.read() as s:
        rows = (await s.execute(keyset(sa.select(things), [things.c.id], params, convert=[uuid.UUID]))).mappings().all()
    items, cursor = page_of(rows, params, key=lambda r: [r["id"]])
    return Page(items=[{"id": str(r["id"]), "name": r["name"]} for r in items], next_cursor=cursor)


@router.get("/things/{thing_id}")
async def get_one(uow: UoW, thing_id: uuid.UUID, response: Response) -> dict:
    async with uow.read() as s:
        row = (await s.execute(sa.select(things).where(things.c.id == thing_id))).mappings().first()
    if row is None:
        raise NotFound("no such thing")
    set_etag(response, row["version"])
    return {"id": str(row["id"]), "name": row["name"], "version": row["version"]}


@router.post("/things/{thing_id}/rename")
async def rename(
    uow: UoW, thing_id: uuid.UUID, body: ThingIn, if_match: IfMatch, response: Response, _: CurrentPrincipal
) -> dict:
    async with uow:
        s = uow.session
        row = (await s.execute(sa.select(things).where(things.c.id == thing_id).with_for_update())).mappings().first()
        if row is None:
            raise NotFound("no such thing")
        if_match.check(row["version"])
        await s.execute(
            sa.update(things).where(things.c.id == thing_id).values(name=body.name, version=row["version"] + 1)
        )
    set_etag(response, row["version"] + 1)
    return {"id": str(thing_id), "name": body.name, "version": row["version"] + 1}


@router.get("/boom")
async def boom() -> dict:
    raise RuntimeError("a bug of ours")


def app_for(settings):
    return create_service_app(
        ServiceSpec(name="things", metadata=meta, routers=[router], migrate=False), settings, verifier=verifier()
    )


async def test_problem_documents_for_bad_requests(sqlite_backend):
    async with running(app_for(sqlite_backend.settings())) as c:
        h = auth("admin")
        r = await c.post("/things", content=b"{not json", headers={**h, "content-type": "application/json"})
        assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "malformed_json"
        r = await c.post(
            "/things", content=b"name=x", headers={**h, "content-type": "application/x-www-form-urlencoded"}
        )
        assert r.status_code == 415
        r = await c.post(
            "/things",
            json={"name": "", "uscc": "91440703MA00000019", "district_code": "999999", "count": 10**30},
            headers=h,
        )
        assert r.status_code == 422
        fields = {e["field"] for e in r.json()["errors"]}
        assert {"name", "uscc", "district_code", "count"} <= fields
        assert r.json()["title"] == "数据校验失败"
        r = await c.post("/things", json={"name": "x"})
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
        r = await c.post("/things", json={"name": "x"}, headers=auth("admin", scope="custody.read"))
        assert r.status_code == 403
        r = await c.get("/boom", headers={"x-request-id": "req-123", "accept-language": "en"})
        assert r.status_code == 500 and r.json()["request_id"] == "req-123"
        assert r.json()["title"] == "Internal server error" and "a bug" not in r.text


async def test_idempotency_key_replays_the_first_response(backend):
    async with running(app_for(backend.settings())) as c:
        h = {**auth("admin", sub="caller-1"), "Idempotency-Key": "k-1"}
        first = await c.post("/things", json={"name": "once"}, headers=h)
        again = await c.post("/things", json={"name": "once"}, headers=h)
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
        other = await c.post("/things", json={"name": "different"}, headers=h)
        assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
        # Another caller's identical key is its own.
        theirs = await c.post(
            "/things", json={"name": "once"}, headers={**auth("admin", sub="caller-2"), "Idempotency-Key": "k-1"}
        )
        assert theirs.status_code == 201 and theirs.json()["id"] != first.json()["id"]
        listing = await c.get("/things")
        assert len(listing.json()["items"]) == 2


async def test_if_match_and_etags(sqlite_backend):
    async with running(app_for(sqlite_backend.settings())) as c:
        h = auth("admin")
        thing = (await c.post("/things", json={"name": "a"}, headers=h)).json()
        got = await c.get(f"/things/{thing['id']}")
        assert got.headers["etag"] == '"1"'
        stale = await c.post(f"/things/{thing['id']}/rename", json={"name": "b"}, headers={**h, "If-Match": '"0"'})
        assert stale.status_code == 412
        ok = await c.post(f"/things/{thing['id']}/rename", json={"name": "b"}, headers={**h, "If-Match": '"1"'})
        assert ok.status_code == 200 and ok.headers["etag"] == '"2"'


async def test_cursor_pagination_walks_every_row_once(sqlite_backend):
    async with running(app_for(sqlite_backend.settings())) as c:
        h = auth("admin")
        ids = [(await c.post("/things", json={"name": f"t{i}"}, headers=h)).json()["id"] for i in range(7)]
        seen, cursor = [], None
        while True:
            r = await c.get("/things", params={"limit": 3, **({"cursor": cursor} if cursor else {})})
            seen += [i["id"] for i in r.json()["items"]]
            cursor = r.json()["next_cursor"]
            if not cursor:
                break
        assert seen == ids
        assert (await c.get("/things", params={"limit": 500})).status_code == 422
        assert (await c.get("/things", params={"cursor": "!!garbage"})).status_code == 422


async def test_a_cursor_of_the_wrong_shape_is_a_422_not_a_500(sqlite_backend):
    import base64

    async with running(app_for(sqlite_backend.settings())) as c:
        for raw in (b"[1]", b'["not-a-uuid"]', b"{}", b"[null]"):
            cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
            r = await c.get("/things", params={"cursor": cursor})
            assert r.status_code == 422, (raw, r.text)


async def test_anonymous_idempotency_keys_are_scoped_by_address(sqlite_backend):
    async with running(app_for(sqlite_backend.settings())) as c:
        h = {**auth("admin", sub="same"), "Idempotency-Key": "shared-key"}
        a = await c.post("/things", json={"name": "a"}, headers={**h, "X-Forwarded-For": "10.0.0.1"})
        assert a.status_code == 201
        from shared.idempotency import _caller

        scope_a = await _caller({"headers": [(b"x-forwarded-for", b"10.0.0.1")], "client": ("127.0.0.1", 1)}, None)
        scope_b = await _caller({"headers": [(b"x-forwarded-for", b"10.0.0.2")], "client": ("127.0.0.1", 1)}, None)
        assert scope_a != scope_b and scope_a.startswith("anonymous:")


async def test_a_control_character_in_a_query_parameter_is_a_422_before_any_handler(sqlite_backend):
    async with running(app_for(sqlite_backend.settings()), wait_for_bus=False) as client:
        # `q` is no parameter of the route: without the check each of these would answer 200
        assert (await client.get("/things?q=abc")).status_code == 200
        for raw in ("q=abc%00", "q=%01x", "limit=5&x%00y=1", "q=%1B%5B31m"):
            r = await client.get(f"/things?{raw}")
            assert r.status_code == 422, (raw, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["errors"], r.json()
        ok = await client.get("/things?limit=5")
        assert ok.status_code == 200
