"""Reference data used by every service (SPEC §4): USCC validation (GB 32100-2015), the
four-level jurisdiction (city → district/county → town/street → village, from a data file), and
the enumerations of industries, hazard flags, service items and risk levels."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, Field

from shared.validation import normalise

DEFAULT_JURISDICTION_FILE = Path(__file__).resolve().parent / "data" / "jurisdiction" / "jiangmen.json"


class Industry(StrEnum):
    hazardous_chemicals = "hazardous_chemicals"
    fireworks = "fireworks"
    non_coal_mining = "non_coal_mining"
    metallurgy = "metallurgy"
    nonferrous_metals = "nonferrous_metals"
    building_materials = "building_materials"
    machinery = "machinery"
    light_industry = "light_industry"
    textiles = "textiles"
    tobacco = "tobacco"
    commerce_trade = "commerce_trade"
    construction = "construction"
    other = "other"


class HazardFlag(StrEnum):
    dust_explosion = "dust_explosion"
    confined_space = "confined_space"
    ammonia_refrigeration = "ammonia_refrigeration"
    hazardous_chemicals_use = "hazardous_chemicals_use"
    special_equipment = "special_equipment"
    metal_melting = "metal_melting"


class ServiceItem(StrEnum):
    hazard_inspection = "hazard_inspection"
    safety_training = "safety_training"
    emergency_plan = "emergency_plan"
    standardization = "standardization"
    occupational_health = "occupational_health"
    risk_assessment = "risk_assessment"
    safety_management_system = "safety_management_system"


class RiskLevel(StrEnum):
    red = "red"
    orange = "orange"
    yellow = "yellow"
    blue = "blue"


RISK_ORDER = [RiskLevel.blue, RiskLevel.yellow, RiskLevel.orange, RiskLevel.red]

INDUSTRY_NAMES = {
    "hazardous_chemicals": ("危险化学品", "Hazardous chemicals"),
    "fireworks": ("烟花爆竹", "Fireworks"),
    "non_coal_mining": ("非煤矿山", "Non-coal mining"),
    "metallurgy": ("冶金", "Metallurgy"),
    "nonferrous_metals": ("有色金属", "Non-ferrous metals"),
    "building_materials": ("建材", "Building materials"),
    "machinery": ("机械", "Machinery"),
    "light_industry": ("轻工", "Light industry"),
    "textiles": ("纺织", "Textiles"),
    "tobacco": ("烟草", "Tobacco"),
    "commerce_trade": ("商贸", "Commerce and trade"),
    "construction": ("建筑施工", "Construction"),
    "other": ("其他", "Other"),
}
RISK_NAMES = {
    "red": ("重大风险（红）", "Major (red)"),
    "orange": ("较大风险（橙）", "High (orange)"),
    "yellow": ("一般风险（黄）", "Moderate (yellow)"),
    "blue": ("低风险（蓝）", "Low (blue)"),
}
SERVICE_ITEM_NAMES = {
    "hazard_inspection": ("隐患排查", "Hazard inspection"),
    "safety_training": ("安全培训", "Safety training"),
    "emergency_plan": ("应急预案", "Emergency plan"),
    "standardization": ("安全标准化", "Standardization"),
    "occupational_health": ("职业健康", "Occupational health"),
    "risk_assessment": ("风险评估", "Risk assessment"),
    "safety_management_system": ("安全管理制度", "Safety management system"),
}


def raise_risk(level: str, steps: int = 1) -> RiskLevel:
    index = RISK_ORDER.index(RiskLevel(level))
    return RISK_ORDER[min(index + steps, len(RISK_ORDER) - 1)]


def risk_rank(level: str) -> int:
    return RISK_ORDER.index(RiskLevel(level))


# --- USCC -------------------------------------------------------------------------------------
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=False))
    check = 31 - total % 31
    return USCC_ALPHABET[0 if check == 31 else check]


def is_valid_uscc(value: str) -> bool:
    return (
        isinstance(value, str)
        and len(value) == 18
        and all(c in USCC_ALPHABET for c in value)
        and uscc_check_char(value[:17]) == value[17]
    )


def make_uscc(body17: str) -> str:
    """Complete 17 characters with their check character (for seeds and tests)."""
    return body17 + uscc_check_char(body17)


def normalise_uscc(value: str) -> str:
    """A USCC as stored and compared: NFKC, no format characters, no surrounding space, upper case."""
    return normalise(value).strip().upper()


def _check_uscc(value: str) -> str:
    value = normalise_uscc(value)
    if not is_valid_uscc(value):
        raise ValueError("统一社会信用代码无效（GB 32100-2015 校验失败） / invalid USCC (GB 32100-2015 check failed)")
    return value


USCC = Annotated[str, AfterValidator(_check_uscc), Field(examples=["91440703MA4W1234XP"])]


# --- jurisdiction -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Area:
    code: str
    name: str
    level: str  # city | district | town | village
    parent: str | None
    name_en: str | None = None
    placeholder: bool = False  # the data file marks a code (or name) that is not the official one


@dataclass
class Jurisdiction:
    city: Area
    areas: dict[str, Area] = field(default_factory=dict)
    filing_prefix: str = ""  # the city's mark in filing numbers (JM for Jiangmen)

    def filing_no(self, kind: str, year: int, number: int, *, width: int) -> str:
        """A human-readable filing number such as ``JM-TG-2026-0001`` (TG: agency filing,
        HT: custody contract)."""
        return f"{self.filing_prefix or self.city.code}-{kind}-{year}-{number:0{width}d}"

    @property
    def districts(self) -> list[Area]:
        return [a for a in self.areas.values() if a.level == "district"]

    def is_district(self, code: str) -> bool:
        area = self.areas.get(code)
        return area is not None and area.level == "district"

    def is_city(self, code: str) -> bool:
        return code == self.city.code

    def is_town(self, code: str) -> bool:
        area = self.areas.get(code)
        return area is not None and area.level == "town"

    def district_of(self, code: str) -> str | None:
        """The district of a district or town code (None for the city and unknown codes)."""
        area = self.areas.get(code)
        if area is None or area.level not in ("district", "town"):
            return None
        return area.code if area.level == "district" else area.parent

    def placeholders(self) -> list[str]:
        """The codes the data file marks as placeholders (docs/DECISIONS.md D55)."""
        return [a.code for a in self.areas.values() if a.placeholder]

    def town_in(self, district: str, town: str) -> Area | None:
        """A town of ``district`` by code or by exact name."""
        area = self.areas.get(town)
        if area and area.level == "town" and area.parent == district:
            return area
        for candidate in self.areas.values():
            if candidate.level == "town" and candidate.parent == district and candidate.name == town:
                return candidate
        return None

    def village_in(self, town_code: str, village: str) -> Area | None:
        area = self.areas.get(village)
        if area and area.level == "village" and area.parent == town_code:
            return area
        for candidate in self.areas.values():
            if candidate.level == "village" and candidate.parent == town_code and candidate.name == village:
                return candidate
        return None

    def name_of(self, code: str, language: str = "zh-CN") -> str:
        area = self.areas.get(code) or (self.city if code == self.city.code else None)
        if area is None:
            return code
        return (area.name_en or area.name) if language.startswith("en") else area.name


@lru_cache(maxsize=4)
def load_jurisdiction(path: str | None = None) -> Jurisdiction:
    """The jurisdiction data file: ``path``, else ``CUSTODY_JURISDICTION_FILE``, else Jiangmen."""
    path = path or os.environ.get("CUSTODY_JURISDICTION_FILE") or str(DEFAULT_JURISDICTION_FILE)
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    city = Area(data["city"]["code"], data["city"]["name"], "city", None, data["city"].get("name_en"))
    jur = Jurisdiction(city=city, filing_prefix=data["city"].get("filing_prefix", ""))
    for d in data["districts"]:
        jur.areas[d["code"]] = Area(
            d["code"], d["name"], "district", city.code, d.get("name_en"), d.get("placeholder") is True
        )
        for t in d.get("towns", []):
            jur.areas[t["code"]] = Area(
                t["code"], t["name"], "town", d["code"], t.get("name_en"), t.get("placeholder") is True
            )
            for v in t.get("villages", []):
                jur.areas[v["code"]] = Area(
                    v["code"], v["name"], "village", t["code"], v.get("name_en"), v.get("placeholder") is True
                )
    return jur


def area_filter(district: str | None, town: str | None) -> tuple[str | None, str | None]:
    """Check a list's ``district=`` / ``town=`` against the jurisdiction data (SPEC §22): an
    unknown district or town, or a town outside the given district, is a 422 naming the field.
    The city's code as ``district`` means every district (None). Returns (district, town)."""
    from shared.errors import FieldError, ValidationFailed
    from shared.i18n import text

    jur = load_jurisdiction()
    if district and not (jur.is_district(district) or jur.is_city(district)):
        raise ValidationFailed(
            text("未知的区县代码", "Unknown district code"),
            errors=[FieldError("district", text("未知的区县代码", "unknown district code"))],
        )
    district = None if district and jur.is_city(district) else district
    if town:
        if not jur.is_town(town):
            raise ValidationFailed(
                text("未知的镇街代码", "Unknown town code"),
                errors=[FieldError("town", text("未知的镇街代码", "unknown town code"))],
            )
        if district and jur.district_of(town) != district:
            raise ValidationFailed(
                text("镇街不属于该区县", "The town is not in that district"),
                errors=[FieldError("town", text(f"不属于区县 {district}", f"not a town of district {district}"))],
            )
    return district, town or None


def checked_town(district: str | None, town: str | None) -> str | None:
    """``town=`` checked as ``area_filter`` checks it (422 naming the field), for a list whose
    ``district=`` keeps its own rules: the town, or None."""
    return area_filter(district, town)[1] if town else None


def _check_district(value: str) -> str:
    if not load_jurisdiction().is_district(value):
        raise ValueError("未知的区县代码 / unknown district code")
    return value


DistrictCode = Annotated[str, AfterValidator(_check_district), Field(examples=["440703"])]
