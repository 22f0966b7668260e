"""Who may do what (SPEC §5, §7): the owner agency, the bureau of the agency's district, the city
bureau, admin, other parties and the anonymous public. SQLite only: rules, not storage."""

from __future__ import annotations

from devtools.testing.apps import running
from devtools.testing.tokens import auth
from tests.registry.factories import PDF, agency_body, agency_in, app_for, create, new_uscc, owner, upload

OTHERS = {
    "other agency": lambda: auth("agency", org_uscc=new_uscc()),
    "enterprise": lambda: auth("enterprise", org_uscc=new_uscc()),
    "other district bureau": lambda: auth("bureau", district="440704"),
}
GOVERNING = {
    "district bureau": lambda: auth("bureau", district="440703"),
    "city bureau": lambda: auth("bureau", district="440700"),
    "admin": lambda: auth("admin"),
}


async def test_create_is_for_the_agency_itself(sqlite_backend):
    async with running(app_for(sqlite_backend.settings())) as client:
        body = agency_body()
        anonymous = await client.post("/api/v1/agencies", json=body)
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"].startswith("Bearer")
        for who, headers in {
            **OTHERS,
            **GOVERNING,
            "agency of another USCC": lambda: auth("agency", org_uscc=new_uscc()),
        }.items():
            r = await client.post("/api/v1/agencies", json=body, headers=headers())
            assert r.status_code == 403, (who, r.text)
            assert r.headers["content-type"] == "application/problem+json"
        read_only = await client.post(
            "/api/v1/agencies", json=body, headers=auth("agency", org_uscc=body["uscc"], scope="custody.read")
        )
        assert read_only.status_code == 403
        assert read_only.json()["code"] == "insufficient_scope"
        assert (await client.post("/api/v1/agencies", json=body, headers=owner(body["uscc"]))).status_code == 201


async def test_owner_only_writes(sqlite_backend):
    async with running(app_for(sqlite_backend.settings())) as client:
        agency = await create(client)
        path = f"/api/v1/agencies/{agency['id']}"
        for who, headers in {**OTHERS, **GOVERNING}.items():
            h = headers()
            assert (await client.patch(path, json={"address": "x 路 1 号"}, headers=h)).status_code == 403, who
            assert (await upload(client, agency, PDF, headers=h)).status_code == 403, who
            assert (await client.post(f"{path}/submit", headers=h)).status_code == 403, who
        assert (await client.patch(path, json={"address": "x 路 1 号"})).status_code == 401
        assert (await client.post(f"{path}/submit")).status_code == 401
        assert (
            await client.post(f"{path}/documents", files={"file": ("a.pdf", PDF)}, data={"kind": "x"})
        ).status_code == 401
        unchanged = (await client.get(path, headers=owner(agency["uscc"]))).json()
        assert unchanged["version"] == 1
        assert unchanged["documents"] == []


async def test_regulatory_acts_are_for_the_governing_bureaus(sqlite_backend):
    async with running(app_for(sqlite_backend.settings())) as client:
        submitted = await agency_in(client, "submitted")
        approved = await agency_in(client, "approved")
        refused = {
            **OTHERS,
            "owner": lambda: owner(submitted["uscc"]),
            "owner of the approved": lambda: owner(approved["uscc"]),
        }
        for who, headers in refused.items():
            r = await client.post(
                f"/api/v1/agencies/{submitted['id']}/review",
                json={"decision": "approve", "comments": "ok"},
                headers=headers(),
            )
            assert r.status_code == 403, (who, r.text)
            for action in ("suspend", "revoke"):
                r = await client.post(
                    f"/api/v1/agencies/{approved['id']}/{action}", json={"reason": "检查"}, headers=headers()
                )
                assert r.status_code == 403, (who, action, r.text)
        assert (
            await client.post(f"/api/v1/agencies/{approved['id']}/suspend", json={"reason": "检查"})
        ).status_code == 401
        # Each governing bureau may act; one agency per act so that each act is allowed by state.
        for who, headers in GOVERNING.items():
            a = await agency_in(client, "submitted")
            r = await client.post(
                f"/api/v1/agencies/{a['id']}/review", json={"decision": "approve", "comments": ""}, headers=headers()
            )
            assert r.status_code == 200, (who, r.text)
            for action, status in (("suspend", "suspended"), ("reinstate", "approved"), ("revoke", "revoked")):
                r = await client.post(
                    f"/api/v1/agencies/{a['id']}/{action}", json={"reason": "依法处理"}, headers=headers()
                )
                assert r.status_code == 200, (who, action, r.text)
                assert r.json()["status"] == status, (who, action, r.text)


async def test_reading_a_filing(sqlite_backend):
    async with running(app_for(sqlite_backend.settings())) as client:
        draft = await create(client)
        approved = await agency_in(client, "approved")
        doc = (await upload(client, approved, PDF)).json()
        approved = (await client.get(f"/api/v1/agencies/{approved['id']}", headers=owner(approved["uscc"]))).json()
        download = f"/api/v1/agencies/{approved['id']}/documents/{doc['id']}"
        for who, headers in {**GOVERNING, "owner": lambda: owner(approved["uscc"])}.items():
            r = await client.get(download, headers=headers())
            assert r.status_code == 200, who
            assert r.content == PDF, who
            assert r.headers["content-type"] == "application/pdf", who
            assert r.headers["x-content-type-options"] == "nosniff"
        for who, headers in OTHERS.items():
            assert (await client.get(download, headers=headers())).status_code == 403, who
        assert (await client.get(download)).status_code == 401
        assert (
            await client.get(f"/api/v1/agencies/{draft['id']}/documents/{doc['id']}", headers=auth("admin"))
        ).status_code == 404
        for agency in (draft, approved):
            path = f"/api/v1/agencies/{agency['id']}"
            for who, headers in {**GOVERNING, "owner": lambda a=agency: owner(a["uscc"])}.items():
                r = await client.get(path, headers=headers())
                assert r.status_code == 200, who
                assert r.json()["contact_phone"] == "0750-3123456", who
                assert r.json()["staff"][0]["certificate_no"]
            assert (await client.get(path)).status_code == 401
        for who, headers in OTHERS.items():
            assert (await client.get(f"/api/v1/agencies/{draft['id']}", headers=headers())).status_code == 403, who
            r = await client.get(f"/api/v1/agencies/{approved['id']}", headers=headers())
            assert r.status_code == 200, who
            profile = r.json()
            assert profile["registered_engineers"] == ["张工", "王工"]
            assert profile["filing_no"] == approved["filing_no"]
            assert profile["service_districts"] == approved["service_districts"]
            assert profile["valid_until"]
            for private in ("contact_phone", "staff", "legal_representative", "address", "documents", "checks"):
                assert private not in profile, (who, private)
            assert "RSE-" not in r.text
            assert "0750" not in r.text
        missing = await client.get("/api/v1/agencies/0190c1b4-0000-7000-8000-000000000000", headers=auth("admin"))
        assert missing.status_code == 404
        assert (await client.get("/api/v1/agencies/not-a-uuid", headers=auth("admin"))).status_code == 422


async def test_listing_filings(sqlite_backend):
    async with running(app_for(sqlite_backend.settings())) as client:
        mine = await create(client)
        other = await create(client)
        elsewhere = await agency_in(client, "submitted", agency_body(district="440781"))

        async def ids(headers, **params):
            r = await client.get("/api/v1/agencies", params=params, headers=headers)
            assert r.status_code == 200, r.text
            return {a["id"] for a in r.json()["items"]}

        assert await ids(owner(mine["uscc"])) == {mine["id"]}
        assert await ids(auth("bureau", district="440703")) == {mine["id"], other["id"]}
        assert await ids(auth("bureau", district="440703"), district="440781") == set()
        assert await ids(auth("bureau", district="440781")) == {elsewhere["id"]}
        all_three = {mine["id"], other["id"], elsewhere["id"]}
        assert await ids(auth("bureau", district="440700")) == all_three
        assert await ids(auth("admin")) == all_three
        assert await ids(auth("admin"), status="submitted") == {elsewhere["id"]}
        assert await ids(auth("admin"), district="440703", status="draft") == {mine["id"], other["id"]}
        page = (await client.get("/api/v1/agencies", params={"limit": 2}, headers=auth("admin"))).json()
        rest = (
            await client.get(
                "/api/v1/agencies", params={"limit": 2, "cursor": page["next_cursor"]}, headers=auth("admin")
            )
        ).json()
        assert {a["id"] for a in page["items"] + rest["items"]} == all_three
        assert rest["next_cursor"] is None
        assert (
            await client.get("/api/v1/agencies", headers=auth("enterprise", org_uscc=new_uscc()))
        ).status_code == 403
        assert (await client.get("/api/v1/agencies")).status_code == 401
        assert (
            await client.get("/api/v1/agencies", params={"status": "flying"}, headers=auth("admin"))
        ).status_code == 422
        assert (
            await client.get("/api/v1/agencies", params={"district": "123456"}, headers=auth("admin"))
        ).status_code == 422
        for cursor in ("WzFd", "W251bGxd", "e30", "!!"):  # [1], [null], {}, not base64
            r = await client.get("/api/v1/agencies", params={"cursor": cursor}, headers=auth("admin"))
            assert r.status_code == 422, (cursor, r.text)
