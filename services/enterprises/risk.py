"""Risk classification (四色分级: red / orange / yellow / blue) — pure rules and their explanation.

The rules (the parameters live in ``policy.risk_rules``; docs/RISK.md says the same in prose):

1. **Industry group** sets the base level: ``red_industries`` → red, ``orange_industries`` →
   orange, ``yellow_industries`` → yellow, ``blue_industries`` → blue. An industry in no group is
   yellow (a published policy that forgets an industry must not make it look harmless).
2. **Major hazard source** (重大危险源): the level becomes at least
   ``major_hazard_source_level`` (red by default).
3. **Severe hazard flags** (``severe_flags``: dust explosion, ammonia refrigeration, metal
   melting by default): any of them raises the level one step (one step however many).
4. **Many hazard flags**: ``flags_for_one_step`` or more hazard flags raise one step.
5. **Many employees**: ``employees_for_one_step`` or more employees raise one step.
6. The result is capped at red. Steps 1–6 give the *base level* (what the record itself says).
7. **Open major hazards** (重大隐患 reported and not yet verified): each raises
   ``open_major_hazard_steps`` step(s), capped at red. When a hazard is verified its step goes
   away again, so the level falls back to the base level once every major hazard is verified.

``assess`` returns the level, the base level and the factors that applied, in the order above;
each factor carries a machine-readable ``effect`` (``set:yellow``, ``at_least:red``,
``raise:1``) and the level after it (``level_after``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.i18n import Text, text
from shared.policy import RiskRules
from shared.reference import INDUSTRY_NAMES, RISK_NAMES, RiskLevel, raise_risk, risk_rank

FLAG_NAMES = {
    "dust_explosion": ("粉尘涉爆", "dust explosion"),
    "confined_space": ("有限空间作业", "confined space"),
    "ammonia_refrigeration": ("涉氨制冷", "ammonia refrigeration"),
    "hazardous_chemicals_use": ("使用危险化学品", "hazardous chemicals use"),
    "special_equipment": ("特种设备", "special equipment"),
    "metal_melting": ("金属冶炼", "metal melting"),
}


@dataclass(frozen=True)
class Factor:
    code: str
    description: Text | None
    effect: str
    level_after: RiskLevel


@dataclass(frozen=True)
class Assessment:
    risk_level: RiskLevel
    base_level: RiskLevel
    factors: list[Factor] = field(default_factory=list)


def _risk_name(level: str) -> Text:
    zh, en = RISK_NAMES[level]
    return text(zh, en)


def _flag_names(flags: Iterable[str]) -> tuple[str, str]:
    flags = list(flags)
    return "、".join(FLAG_NAMES.get(f, (f, f))[0] for f in flags), ", ".join(
        FLAG_NAMES.get(f, (f, f))[1] for f in flags
    )


def industry_level(industry: str, rules: RiskRules) -> RiskLevel:
    for level in ("red", "orange", "yellow", "blue"):
        if industry in getattr(rules, f"{level}_industries"):
            return RiskLevel(level)
    return RiskLevel.yellow


def assess(
    *,
    industry: str,
    hazard_flags: Iterable[str],
    major_hazard_source: bool,
    employees: int,
    open_major_hazards: int,
    rules: RiskRules,
    explain: bool = True,
) -> Assessment:
    """The level, the base level and the factors; with ``explain=False`` (bulk import) the
    factors' descriptions are left out (None), which is several times cheaper."""
    say = (lambda build: build()) if explain else (lambda build: None)
    flags = list(dict.fromkeys(str(f) for f in hazard_flags))
    factors: list[Factor] = []
    ind_zh, ind_en = INDUSTRY_NAMES.get(industry, (industry, industry))

    level = industry_level(industry, rules)
    grouped = any(industry in getattr(rules, f"{lv}_industries") for lv in ("red", "orange", "yellow", "blue"))
    name = _risk_name(level)
    factors.append(
        Factor(
            "industry",
            say(
                lambda: text(
                    f"行业“{ind_zh}”属于{name.zh}行业组"
                    if grouped
                    else f"行业“{ind_zh}”未列入任何行业组，按一般风险（黄）计",
                    f"Industry '{ind_en}' is in the {name.en} group"
                    if grouped
                    else f"Industry '{ind_en}' is in no group; counted as yellow",
                )
            ),
            f"set:{level.value}",
            level,
        )
    )

    if major_hazard_source:
        floor = RiskLevel(rules.major_hazard_source_level)
        if risk_rank(floor) > risk_rank(level):
            level = floor
        fname = _risk_name(floor)
        factors.append(
            Factor(
                "major_hazard_source",
                say(
                    lambda: text(
                        f"存在重大危险源，风险等级至少为{fname.zh}", f"Has a major hazard source: at least {fname.en}"
                    )
                ),
                f"at_least:{floor.value}",
                level,
            )
        )

    severe = [f for f in flags if f in rules.severe_flags]
    if severe:
        level = raise_risk(level, 1)
        factors.append(
            Factor(
                "severe_hazard_flags",
                say(
                    lambda: text(
                        f"存在高危作业（{_flag_names(severe)[0]}），提高一级",
                        f"Severe hazards ({_flag_names(severe)[1]}): one step up",
                    )
                ),
                "raise:1",
                level,
            )
        )

    if rules.flags_for_one_step > 0 and len(flags) >= rules.flags_for_one_step:
        level = raise_risk(level, 1)
        factors.append(
            Factor(
                "many_hazard_flags",
                say(
                    lambda: text(
                        f"风险标识 {len(flags)} 项（≥ {rules.flags_for_one_step} 项），提高一级",
                        f"{len(flags)} hazard flags (≥ {rules.flags_for_one_step}): one step up",
                    )
                ),
                "raise:1",
                level,
            )
        )

    if rules.employees_for_one_step > 0 and employees >= rules.employees_for_one_step:
        level = raise_risk(level, 1)
        factors.append(
            Factor(
                "many_employees",
                say(
                    lambda: text(
                        f"从业人数 {employees} 人（≥ {rules.employees_for_one_step} 人），提高一级",
                        f"{employees} employees (≥ {rules.employees_for_one_step}): one step up",
                    )
                ),
                "raise:1",
                level,
            )
        )

    base = level
    if open_major_hazards > 0 and rules.open_major_hazard_steps > 0:
        steps = open_major_hazards * rules.open_major_hazard_steps
        level = raise_risk(level, steps)
        factors.append(
            Factor(
                "open_major_hazards",
                say(
                    lambda: text(
                        f"有 {open_major_hazards} 项重大隐患尚未验收，"
                        f"每项提高 {rules.open_major_hazard_steps} 级（验收后恢复）",
                        f"{open_major_hazards} open major hazard(s), "
                        f"each {rules.open_major_hazard_steps} step(s) up until verified",
                    )
                ),
                f"raise:{steps}",
                level,
            )
        )
    return Assessment(risk_level=level, base_level=base, factors=factors)


def assess_record(
    record: Mapping[str, Any], *, open_major_hazards: int, rules: RiskRules, explain: bool = False
) -> Assessment:
    """``assess`` on an enterprise's column values (a row, or a record about to be stored)."""
    return assess(
        industry=record["industry"],
        hazard_flags=record["hazard_flags"] or [],
        major_hazard_source=bool(record["major_hazard_source"]),
        employees=int(record["employees"]),
        open_major_hazards=open_major_hazards,
        rules=rules,
        explain=explain,
    )
