"""Towns (SPEC §22, docs/DECISIONS.md D55): a bureau account's area may be a town of the
jurisdiction data; the principal then knows its district and its town, and the scope building
blocks narrow every district rule to the town. The jurisdiction is a data file: another city's
file validates districts and towns with no code change."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from pydantic import TypeAdapter, ValidationError

from shared import reference, scopes
from shared.auth import Principal
from shared.reference import DistrictCode, load_jurisdiction
from shared.roles import Role

SMALL_CITY = Path(__file__).parent / "data" / "smalltown.json"
ROWS = sa.table("rows", sa.column("district_code"), sa.column("town"))


def bureau(area: str) -> Principal:
    return Principal(subject="b", role=Role.BUREAU, district=area)


def compiled(condition: sa.ColumnElement[bool]) -> str:
    return str(condition.compile(compile_kwargs={"literal_binds": True}))


def test_a_town_bureau_knows_its_district_and_its_town():
    town = bureau("440703001")
    assert (town.district_code, town.town_code) == ("440703", "440703001")
    assert town.is_town_bureau and not town.sees_everything
    district = bureau("440703")
    assert (district.district_code, district.town_code) == ("440703", None)
    city = bureau("440700")
    assert (city.district_code, city.town_code) == (None, None) and city.sees_everything


def test_governs_narrows_to_the_town():
    town = bureau("440703001")
    assert town.governs("440703", town="440703001")
    assert not town.governs("440703", town="440703002")  # a neighbouring town of the same district
    assert not town.governs("440703")  # a record with no town: the district's, not the town's
    assert town.governs("440703", district_wide=True)  # … unless the rule says the district's rows do
    assert not town.governs("440704", district_wide=True)
    district = bureau("440703")
    assert district.governs("440703", town="440703002") and district.governs("440703")


def test_the_scope_filters_by_town_for_a_town_bureau():
    town = bureau("440703001")
    by_town = compiled(scopes.district(town, ROWS.c.district_code, town=ROWS.c.town))
    assert "'440703001'" in by_town and "'440703'" in by_town
    # no town column: fail closed, unless the rows are declared district-wide
    assert compiled(scopes.district(town, ROWS.c.district_code)) == compiled(scopes.nothing())
    wide = compiled(scopes.district(town, ROWS.c.district_code, district_wide=True))
    assert "'440703'" in wide and "440703001" not in wide
    # a district bureau: the town column changes nothing
    assert compiled(scopes.district(bureau("440703"), ROWS.c.district_code, town=ROWS.c.town)) == compiled(
        ROWS.c.district_code == "440703"
    )


def test_a_town_filter_is_checked_against_the_data():
    jur = load_jurisdiction()
    assert jur.is_town("440703001") and not jur.is_town("440703") and not jur.is_town("440703999")
    assert jur.district_of("440703001") == "440703" and jur.district_of("440703") == "440703"


def test_placeholders_are_marked_and_the_official_codes_are_not():
    jur = load_jurisdiction()
    assert not any(d.placeholder for d in jur.districts)  # GB/T 2260 codes (SPEC §4)
    assert jur.areas["440703001"].placeholder  # the town's name is real, its code is not official
    assert jur.placeholders() and all(jur.areas[c].level in ("town", "village") for c in jur.placeholders())


@pytest.fixture
def small_city(monkeypatch):
    monkeypatch.setenv("CUSTODY_JURISDICTION_FILE", str(SMALL_CITY))
    load_jurisdiction.cache_clear()
    yield load_jurisdiction()
    monkeypatch.undo()
    load_jurisdiction.cache_clear()


def test_another_city_is_a_data_change(small_city):
    from shared.settings import Settings

    assert Settings().jurisdiction_file == SMALL_CITY  # the setting names the file
    assert small_city.city.code == "990100" and small_city.filing_prefix == "XC"
    assert [d.code for d in small_city.districts] == ["990101", "990102"]
    districts = TypeAdapter(DistrictCode)
    assert districts.validate_python("990101") == "990101"
    with pytest.raises(ValidationError):
        districts.validate_python("440703")  # Jiangmen's district is not this city's
    assert small_city.town_in("990101", "东二镇").code == "990101002"
    assert small_city.town_in("990102", "990101001") is None  # not a town of that district
    assert small_city.areas["990101002"].placeholder and not small_city.areas["990101001"].placeholder
    town = bureau("990101001")
    assert (town.district_code, town.town_code) == ("990101", "990101001")
    assert bureau("990100").sees_everything
    assert reference.load_jurisdiction() is small_city


def test_list_filters_name_the_field_they_get_wrong():
    from shared.errors import ValidationFailed

    assert reference.area_filter("440703", "440703001") == ("440703", "440703001")
    assert reference.area_filter("440700", None) == (None, None)  # the city: every district
    assert reference.area_filter(None, "440704001") == (None, "440704001")
    for district, town, field in (
        ("999999", None, "district"),
        (None, "440703999", "town"),
        ("440704", "440703001", "town"),
    ):
        with pytest.raises(ValidationFailed) as raised:
            reference.area_filter(district, town)
        assert [e.field for e in raised.value.errors] == [field]


def test_a_bureau_may_ask_for_its_area_only():
    district, town = bureau("440703"), bureau("440703001")
    assert scopes.may_ask_for(district, "440703", "440703002") and scopes.may_ask_for(district, None, "440703002")
    assert not scopes.may_ask_for(district, None, "440704001") and not scopes.may_ask_for(district, "440704", None)
    assert scopes.may_ask_for(town, "440703", None) and scopes.may_ask_for(town, None, "440703001")
    assert not scopes.may_ask_for(town, "440703", "440703002")
    assert scopes.may_ask_for(bureau("440700"), "440704", "440704001")
