"""Identifiers and names are normalised before comparison and storage (SPEC §18, issue #16 item 6):
NFKC and without format characters (zero-width, bidi overrides), so that an invisible character
cannot get one engineer past exclusivity or one USCC past "one agency per USCC"."""

from __future__ import annotations

import pytest

from devtools.testing.apps import running
from shared.reference import normalise_uscc
from shared.validation import normalise
from tests.registry.factories import agency_body, app_for, create, engineer, ok, owner

ZWSP, ZWJ, RLO, BOM = "\u200b", "\u200d", "\u202e", "\ufeff"


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        (f"RSE{ZWSP}-2026", "RSE-2026"),
        (f"{BOM}张{ZWJ}工", "张工"),
        (f"RSE{RLO}777", "RSE777"),
        ("ＲＳＥ－２０２６", "RSE-2026"),
        ("soft\u00adhyphen", "softhyphen"),
    ],
)
def test_normalise_drops_format_characters_and_folds_width(raw, normal):
    assert normalise(raw) == normal


def test_a_uscc_is_normalised_before_it_is_checked():
    assert normalise_uscc(f" ９１４４{ZWSP}０７０３ma0000001x ") == "91440703MA0000001X"


async def test_a_zero_width_character_does_not_make_another_certificate(sqlite_backend):
    async with running(app_for(sqlite_backend.settings())) as client:
        first = await create(
            client, agency_body(engineers=[engineer("张工", "RSE-2026-ZW01"), engineer("王工", "ZW-A2")])
        )
        await ok(client, first, "submit")
        sneaky = agency_body(
            engineers=[engineer(f"李{ZWSP}四", f"RSE-2026{ZWSP}-{RLO}ZW01"), engineer("赵工", "ZW-B2")]
        )
        second = await create(client, sneaky)
        # Stored without the invisible characters.
        assert second["staff"][0]["certificate_no"] == "RSE-2026-ZW01"
        assert second["staff"][0]["name"] == "李四"
        refused = await client.post(f"/api/v1/agencies/{second['id']}/submit", headers=owner(sneaky["uscc"]))
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == "staff_exclusive"


async def test_a_uscc_with_a_zero_width_character_is_the_same_uscc(sqlite_backend):
    async with running(app_for(sqlite_backend.settings())) as client:
        body = agency_body()
        await create(client, body)
        again = agency_body(uscc=body["uscc"][:4] + ZWSP + body["uscc"][4:])
        r = await client.post("/api/v1/agencies", json=again, headers=owner(body["uscc"]))
        assert r.status_code == 409, r.text


async def test_names_are_stored_normalised(sqlite_backend):
    async with running(app_for(sqlite_backend.settings())) as client:
        body = agency_body(name=f"江门{ZWSP}安泰{RLO}安全公司")
        agency = await create(client, body)
        assert agency["name"] == "江门安泰安全公司"
