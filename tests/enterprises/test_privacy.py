"""Enterprises' privacy (SPEC §14), on both backends with real contract events on the real bus: an
agency looking an enterprise up by USCC gets the minimal view unless it is a party of a
non-terminal contract the enterprise took part in; drafting a contract alone unlocks nothing, and
the end of the contract closes the full view again."""

from __future__ import annotations

import uuid

import pytest

from devtools.testing.tokens import auth
from tests.enterprises.factories import Feed, admin, agency, bureau, enterprise_token, register, service, uscc

MINIMAL_FIELDS = {"id", "uscc", "name", "industry", "district_code", "town", "risk_level"}
PRIVATE_FIELDS = {"contact_name", "contact_phone", "address", "hazard_flags", "custodian", "village", "employees"}


def agency_uscc() -> str:
    return uscc(prefix="91440700AG")


def contract(
    enterprise_uscc: str,
    agency_org: str,
    *,
    contract_id: str,
    version: int,
    status: str,
    drafted_by: str | None = "agency",
    enterprise_signed: bool | None = False,
) -> dict:
    data = {
        "id": contract_id,
        "version": version,
        "status": status,
        "enterprise_uscc": enterprise_uscc,
        "agency_id": str(uuid.uuid5(uuid.NAMESPACE_OID, agency_org)),
        "agency_uscc": agency_org,
        "agency_name": "江门市安全技术服务有限公司",
        "engineer_name": "王工",
        "district_code": "440703",
        "start_date": "2026-01-01",
        "end_date": "2027-12-31",
    }
    if drafted_by is not None:
        data["drafted_by"] = drafted_by
    if enterprise_signed is not None:
        data["enterprise_signed"] = enterprise_signed
    return data


async def view_of(client, enterprise: dict, org: str) -> tuple[str, dict]:
    r = await client.get(f"/api/v1/enterprises/by-uscc/{enterprise['uscc']}", headers=agency(org))
    assert r.status_code == 200, r.text
    body = r.json()
    if set(body) == MINIMAL_FIELDS:
        assert "etag" not in r.headers  # a version would tell when the private record changes
        return "minimal", body
    assert set(body) >= PRIVATE_FIELDS, body
    assert r.headers["etag"] == f'"{body["version"]}"'
    return "full", body


async def test_an_agency_sees_the_minimal_view_until_the_enterprise_takes_part(backend):
    async with service(backend) as (client, settings):
        feed = Feed(client, settings)
        e = await register(client, hazard_flags=["confined_space"], village="440703001001")
        ours, theirs = agency_uscc(), agency_uscc()

        kind, body = await view_of(client, e, ours)
        assert kind == "minimal"
        assert body == {k: e[k] for k in MINIMAL_FIELDS}

        # The agency drafts a contract with the enterprise: still the minimal view (it cannot
        # unlock a private record by drafting alone), and no more after filing attempts of its own.
        c = str(uuid.uuid4())
        await feed.send("contract.drafted", contract(e["uscc"], ours, contract_id=c, version=1, status="draft"))
        assert (await view_of(client, e, ours))[0] == "minimal"

        # The enterprise signs: the agency is now a party it took part with → the full record.
        await feed.send(
            "contract.drafted",
            contract(e["uscc"], ours, contract_id=c, version=2, status="draft", enterprise_signed=True),
        )
        kind, body = await view_of(client, e, ours)
        assert kind == "full"
        assert body["contact_phone"] == e["contact_phone"]
        assert body["hazard_flags"] == ["confined_space"]
        assert (await view_of(client, e, theirs))[0] == "minimal"  # another agency learns nothing

        # Signed, filed, active: still full; the custodian shows in the full record.
        for version, (event_type, status) in enumerate(
            [
                ("contract.signed", "signed"),
                ("contract.filing_submitted", "filing"),
                ("contract.filed", "filed"),
                ("contract.activated", "active"),
            ],
            start=3,
        ):
            await feed.send(
                event_type,
                contract(e["uscc"], ours, contract_id=c, version=version, status=status, enterprise_signed=True),
            )
            assert (await view_of(client, e, ours))[0] == "full", status
        assert (await view_of(client, e, ours))[1]["custodian"]["contract_id"] == c

        # Terminated: the full view closes again, and a late (stale) event does not reopen it.
        await feed.send(
            "contract.terminated",
            contract(e["uscc"], ours, contract_id=c, version=8, status="terminated", enterprise_signed=True),
        )
        assert (await view_of(client, e, ours))[0] == "minimal"
        await feed.send(
            "contract.activated",
            contract(e["uscc"], ours, contract_id=c, version=6, status="active", enterprise_signed=True),
        )
        assert (await view_of(client, e, ours))[0] == "minimal"

        # Everyone else as before: the record's own readers see it in full, others nothing.
        for headers in (admin(), bureau("440700"), bureau("440703"), enterprise_token(e)):
            r = await client.get(f"/api/v1/enterprises/by-uscc/{e['uscc']}", headers=headers)
            assert r.status_code == 200
            assert set(r.json()) >= PRIVATE_FIELDS
        for headers in (bureau("440704"), enterprise_token(uscc())):
            r = await client.get(f"/api/v1/enterprises/by-uscc/{e['uscc']}", headers=headers)
            assert r.status_code == 403
        # The rule is the by-USCC look-up's: by id an agency still gets 403, even as a party.
        await feed.send(
            "contract.drafted",
            contract(
                e["uscc"], ours, contract_id=str(uuid.uuid4()), version=1, status="draft", drafted_by="enterprise"
            ),
        )
        assert (await view_of(client, e, ours))[0] == "full"
        assert (await client.get(f"/api/v1/enterprises/{e['id']}", headers=agency(ours))).status_code == 403
        assert not await client._transport.app.state.runtime.subscriber.list_dead_letters()


@pytest.mark.parametrize("terminal", ["expired", "terminated", "cancelled", "rejected"])
async def test_every_terminal_state_closes_the_full_view(sqlite_backend, terminal):
    async with service(sqlite_backend) as (client, settings):
        feed = Feed(client, settings)
        e = await register(client)
        ours = agency_uscc()
        c = str(uuid.uuid4())
        # Drafted by the enterprise: the full view from the start.
        await feed.send(
            "contract.drafted",
            contract(e["uscc"], ours, contract_id=c, version=1, status="draft", drafted_by="enterprise"),
        )
        assert (await view_of(client, e, ours))[0] == "full"
        # The status decides, whatever the event's type (no event type names a cancelled draft yet).
        event_type = {"expired": "contract.expired", "rejected": "contract.rejected"}.get(
            terminal, "contract.terminated"
        )
        await feed.send(
            event_type, contract(e["uscc"], ours, contract_id=c, version=2, status=terminal, drafted_by="enterprise")
        )
        assert (await view_of(client, e, ours))[0] == "minimal"


async def test_events_without_the_party_fields(backend):
    """A producer that does not send ``agency_uscc`` grants nothing; one that sends it without
    ``drafted_by`` / ``enterprise_signed`` grants the full view once the contract is past draft
    (both parties have signed by then), and a later event lacking them keeps what the row knew."""
    async with service(backend) as (client, settings):
        feed = Feed(client, settings)
        e = await register(client)
        ours = agency_uscc()
        anonymous_party = contract(
            e["uscc"],
            ours,
            contract_id=str(uuid.uuid4()),
            version=1,
            status="active",
            drafted_by=None,
            enterprise_signed=None,
        )
        del anonymous_party["agency_uscc"]
        await feed.send("contract.activated", anonymous_party)
        assert (await view_of(client, e, ours))[0] == "minimal"

        c = str(uuid.uuid4())
        await feed.send(
            "contract.drafted",
            contract(
                e["uscc"], ours, contract_id=c, version=1, status="draft", drafted_by=None, enterprise_signed=None
            ),
        )
        assert (await view_of(client, e, ours))[0] == "minimal"
        await feed.send(
            "contract.drafted",
            contract(e["uscc"], ours, contract_id=c, version=2, status="draft", drafted_by="enterprise"),
        )
        assert (await view_of(client, e, ours))[0] == "full"
        await feed.send(
            "contract.drafted",
            contract(
                e["uscc"], ours, contract_id=c, version=3, status="draft", drafted_by=None, enterprise_signed=None
            ),
        )
        assert (await view_of(client, e, ours))[0] == "full"  # drafted_by is kept

        other, d = agency_uscc(), str(uuid.uuid4())
        await feed.send(
            "contract.signed",
            contract(
                e["uscc"], other, contract_id=d, version=2, status="signed", drafted_by=None, enterprise_signed=None
            ),
        )
        assert (await view_of(client, e, other))[0] == "full"


async def test_an_unregistered_uscc_and_a_token_without_organisation(sqlite_backend):
    async with service(sqlite_backend) as (client, _):
        r = await client.get(f"/api/v1/enterprises/by-uscc/{uscc()}", headers=agency())
        assert r.status_code == 404
        e = await register(client)
        r = await client.get(f"/api/v1/enterprises/by-uscc/{e['uscc']}", headers=auth("agency"))
        assert r.status_code == 200
        assert set(r.json()) == MINIMAL_FIELDS
