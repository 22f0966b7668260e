"""One storage quota per organisation over the audit service's attachments and the registry's
filing documents (SPEC §16, shared.storage): each service announces its total on the bus, the
other counts it. Both services run here on one bus and one data directory."""

from __future__ import annotations

from devtools.testing.apps import running
from devtools.testing.wait import eventually
from services.audit.models.attachments import storage_usage
from tests.audit.factories import audit_app
from tests.files import PDF, png
from tests.registry.factories import agency_body, app_for, create, owner, upload

QUOTA = 3 * len(PDF) + 10


async def _attach(h, headers, content):
    return await h.client.post(
        "/api/v1/attachments", files={"file": ("x.pdf", content, "application/pdf")}, headers=headers
    )


async def test_filing_documents_and_attachments_share_one_quota(backend):
    async with audit_app(backend, attachment_quota_bytes=QUOTA) as h, running(app_for(h.settings)) as registry:
        body = agency_body()
        agency = await create(registry, body)
        headers = owner(body["uscc"])
        for _ in range(2):
            r = await upload(registry, agency, PDF)
            assert r.status_code == 201, r.text

        # the registry's two documents reach the audit service: one more attachment fits, not two
        async def heard():
            async with h.runtime.unit_of_work().read() as session:
                rows = (await session.execute(storage_usage.select())).mappings().all()
            return rows if rows and rows[0]["bytes"] == 2 * len(PDF) else None

        await eventually(heard, timeout=15)
        r = await _attach(h, headers, PDF)
        assert r.status_code == 201, r.text
        r = await _attach(h, headers, png())
        assert r.status_code == 413 and r.json()["code"] == "quota_exceeded", r.text
        assert r.json()["used_bytes"] == 3 * len(PDF)

        # … and the attachment reaches the registry: its next document does not fit either
        async def refused():
            r = await upload(registry, agency, PDF)
            return r if r.status_code == 413 else None

        r = await eventually(refused, timeout=15)
        assert r.json()["code"] == "quota_exceeded"
        got = await registry.get(f"/api/v1/agencies/{agency['id']}", headers=headers)
        assert len(got.json()["documents"]) == 2
