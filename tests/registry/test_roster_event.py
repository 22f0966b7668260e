"""Every ``agency.*`` status event carries the current roster (SPEC §16, D45): ``registered_engineers``
= the names of the registered safety engineers whose certificate is valid on the event's day,
normalised — audit checks a visit's engineer against it."""

from __future__ import annotations

from datetime import timedelta

from devtools.testing.apps import running
from devtools.testing.events import read_events
from devtools.testing.wait import eventually
from tests.registry.factories import TODAY, agency_body, app_for, clock, create, engineer, ok


async def _event(settings, agency_id: str, event_type: str):
    async def found():
        events = await read_events(settings, event_type=event_type)
        return next((e for e in events if e.data["id"] == agency_id), None)

    return await eventually(found, timeout=15)


async def test_status_events_carry_the_engineers_with_a_valid_certificate(sqlite_backend):
    settings = sqlite_backend.settings()
    at = clock()
    async with running(app_for(settings, at=at)) as client:
        body = agency_body(
            engineers=[
                engineer("张工", "RSE-R-1"),
                engineer("Ｗａｎｇ Ｇｏｎｇ", "RSE-R-2", valid_until=TODAY + timedelta(days=10)),
            ]
        )
        agency = await create(client, body)
        await ok(client, agency, "submit")
        await ok(client, agency, "approve")
        approved = await _event(settings, agency["id"], "agency.approved")
        assert sorted(approved.data["registered_engineers"]) == ["Wang Gong", "张工"]  # NFKC: full-width to ASCII
        # Eleven days on, one certificate has expired: the next event leaves him off.
        at.set(at.now() + timedelta(days=11))
        await ok(client, agency, "suspend")
        suspended = await _event(settings, agency["id"], "agency.suspended")
        assert suspended.data["registered_engineers"] == ["张工"]
