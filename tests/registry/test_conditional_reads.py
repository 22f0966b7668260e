"""Conditional GETs of the public reads (shared.conditional, D62): the directory's list and
detail, the policy and its versions answer with an ETag that stays while nothing they show changes
and moves with every change — through the registry's own writes, its consumers and a published
policy version, also on another replica of the same database — ``If-None-Match`` gets a 304 with
no body, and a cached body is never served after a change (both backends)."""

from __future__ import annotations

from datetime import timedelta

from devtools.testing.apps import running
from devtools.testing.events import publish_event
from devtools.testing.wait import eventually
from shared.conditional import Rendered, RenderedCache, etag_for, none_match
from tests.contracts.factories import TODAY
from tests.registry.factories import agency_in, app_for, bureau, ok

DIRECTORY = "/api/v1/directory/agencies"


async def etag_of(client, path: str, **params) -> str:
    r = await client.get(path, params=params)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "public, no-cache"
    return r.headers["etag"]


async def test_etag_stable_304_and_changes_with_the_registry_writes(backend):
    async with running(app_for(backend.settings())) as client:
        first = await agency_in(client, "approved")
        tag = await etag_of(client, DIRECTORY)
        assert tag == await etag_of(client, DIRECTORY)  # nothing changed: the same tag (a cache hit)
        assert (await client.get(DIRECTORY)).headers["vary"] == "Accept"  # the CSV shares the URL

        for header in (tag, f'"other", {tag}', f"W/{tag}", "*"):
            r = await client.get(DIRECTORY, headers={"If-None-Match": header})
            assert r.status_code == 304, (header, r.text)
            assert r.content == b""
            assert r.headers["etag"] == tag
        r = await client.get(DIRECTORY, headers={"If-None-Match": '"other"'})
        assert r.status_code == 200 and r.json()["items"]

        # another query is another resource: its own tag
        assert await etag_of(client, DIRECTORY, limit=1) != tag

        # an agency listed
        second = await agency_in(client, "approved")
        listed = await client.get(DIRECTORY, headers={"If-None-Match": tag})
        assert listed.status_code == 200
        assert {i["id"] for i in listed.json()["items"]} >= {first["id"], second["id"]}
        tag = listed.headers["etag"]

        # the detail: 304 while unchanged, 404 (never a 304 for *) once off the list
        detail = f"{DIRECTORY}/{first['id']}"
        detail_tag = await etag_of(client, detail)
        assert (await client.get(detail, headers={"If-None-Match": detail_tag})).status_code == 304

        # suspended: off the list at once, the cached page and detail never served again
        await ok(client, first, "suspend")
        r = await client.get(DIRECTORY, headers={"If-None-Match": tag})
        assert r.status_code == 200
        assert first["id"] not in {i["id"] for i in r.json()["items"]}
        assert (await client.get(detail, headers={"If-None-Match": detail_tag})).status_code == 404
        assert (await client.get(detail, headers={"If-None-Match": "*"})).status_code == 404


async def test_consumers_move_the_directory_etag(backend):
    settings = backend.settings()
    async with running(app_for(settings)) as client:
        agency = await agency_in(client, "approved")
        aid = agency["id"]
        tag = await etag_of(client, DIRECTORY)
        detail_tag = await etag_of(client, f"{DIRECTORY}/{aid}")
        await publish_event(
            settings, "agency.credit_changed", {"id": aid, "version": 3, "score": 80, "grade": "B", "delta": -10}
        )

        async def regraded():
            r = await client.get(DIRECTORY, headers={"If-None-Match": tag})
            return r.status_code == 200 and next(i for i in r.json()["items"] if i["id"] == aid)["grade"] == "B"

        await eventually(regraded)
        d = await client.get(f"{DIRECTORY}/{aid}", headers={"If-None-Match": detail_tag})
        assert d.status_code == 200 and d.json()["grade"] == "B"  # the detail's cached body is not served


async def test_policy_reads_are_conditional_and_move_with_a_published_version(backend):
    async with running(app_for(backend.settings())) as client:
        versions = "/api/v1/policy/versions"
        tag = await etag_of(client, versions)
        policy_tag = await etag_of(client, "/api/v1/policy")
        assert (await client.get(versions, headers={"If-None-Match": tag})).status_code == 304
        assert (await client.get("/api/v1/policy", headers={"If-None-Match": policy_tag})).status_code == 304

        document = (await client.get("/api/v1/policy")).json()
        document["policy_version"] = "2026.9"
        body = {"effective_from": (TODAY + timedelta(days=30)).isoformat(), "policy": document}
        assert (await client.post(versions, json=body, headers=bureau())).status_code == 201
        r = await client.get(versions, headers={"If-None-Match": tag})
        assert r.status_code == 200 and len(r.json()) == 2
        # not yet in force: the policy in force is the same document, the same tag
        assert (await client.get("/api/v1/policy", headers={"If-None-Match": policy_tag})).status_code == 304


async def test_another_replica_never_serves_a_stale_page(backend):
    """Two app instances on one database: the one that did not write sees the change at once."""
    settings = backend.settings()
    async with running(app_for(settings)) as writer, running(app_for(settings)) as replica:
        agency = await agency_in(writer, "approved")
        tag = await etag_of(replica, DIRECTORY)
        assert agency["id"] in {i["id"] for i in (await replica.get(DIRECTORY)).json()["items"]}  # cached
        assert tag == await etag_of(writer, DIRECTORY)  # the same version, the same tag on both
        await ok(writer, agency, "suspend")
        r = await replica.get(DIRECTORY, headers={"If-None-Match": tag})
        assert r.status_code == 200
        assert agency["id"] not in {i["id"] for i in r.json()["items"]}


def test_if_none_match_and_the_cache():
    tag = etag_for("/x", "", 1)
    assert tag == etag_for("/x", "", 1) != etag_for("/x", "", 2)
    assert not none_match(None, tag)
    assert none_match(f' W/{tag} , "b"', tag)
    assert none_match("*", tag) and not none_match("*", tag, exists=False)
    assert not none_match('"b"', tag)
    cache = RenderedCache(entries=2)
    cache.put(("a",), Rendered(tag, b"1"))
    assert cache.get(("a",), tag) == Rendered(tag, b"1")
    assert cache.get(("a",), etag_for("/x", "", 2)) is None  # rendered at another version: not served
    cache.put(("b",), Rendered(tag, b"2"))
    cache.put(("c",), Rendered(tag, b"3"))
    assert cache.get(("a",), tag) is None and cache.get(("c",), tag) is not None  # least recently used left
    small = RenderedCache(entries=10, max_bytes=5)
    small.put(("a",), Rendered(tag, b"123"))
    small.put(("b",), Rendered(tag, b"45"))
    small.put(("c",), Rendered(tag, b"6"))  # over the byte budget: the oldest leaves
    assert small.get(("a",), tag) is None and small.bytes == 3
    small.put(("d",), Rendered(tag, b"too large"))  # larger than the budget: not kept
    assert small.get(("d",), tag) is None
