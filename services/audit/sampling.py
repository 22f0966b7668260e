"""Quality-audit sampling (pure, deterministic).

The same seed, period, rate and population always give the same sample, so that anyone holding
the sample log can recompute it and see that nobody picked the contracts by hand:

1. The population (active and filed contracts) is split into strata by the enterprise's risk
   level; each stratum is sorted by contract id.
2. From each stratum ``ceil(rate × size)`` contracts are drawn with
   ``random.Random(f"{seed}:{period}:{stratum}")``.
3. Every agency with at least one red-risk client that no drawn contract covers gets one of its
   red-risk contracts, drawn with ``random.Random(f"{seed}:{period}:cover:{agency_id}")``.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass

STRATA = ("red", "orange", "yellow", "blue", "unknown")


@dataclass(frozen=True)
class Candidate:
    contract_id: str
    agency_id: str
    risk_level: str  # red | orange | yellow | blue | unknown (enterprise not known yet)


@dataclass(frozen=True)
class Pick:
    contract_id: str
    agency_id: str
    risk_level: str
    reason: str  # stratum | red_coverage


@dataclass(frozen=True)
class Sample:
    picks: list[Pick]
    strata: dict[str, dict[str, int]]  # stratum -> {size, drawn}
    population_size: int
    population_sha256: str


def stratum_of(level: str | None) -> str:
    return level if level in STRATA else "unknown"


def population_digest(population: list[Candidate]) -> str:
    lines = sorted(f"{c.contract_id}|{c.agency_id}|{stratum_of(c.risk_level)}" for c in population)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def draw(population: list[Candidate], *, seed: str, period: str, rate: float) -> Sample:
    if not 0 < rate <= 1:
        raise ValueError("rate must be in (0, 1]")
    unique = {c.contract_id: c for c in population}
    by_stratum: dict[str, list[Candidate]] = {s: [] for s in STRATA}
    for candidate in unique.values():
        by_stratum[stratum_of(candidate.risk_level)].append(candidate)
    picks: list[Pick] = []
    strata: dict[str, dict[str, int]] = {}
    for stratum in STRATA:
        members = sorted(by_stratum[stratum], key=lambda c: c.contract_id)
        if not members:
            continue
        k = min(len(members), math.ceil(rate * len(members) - 1e-9))
        chosen = random.Random(f"{seed}:{period}:{stratum}").sample(members, k)
        picks += [Pick(c.contract_id, c.agency_id, stratum, "stratum") for c in sorted(chosen, key=lambda c: c.contract_id)]
        strata[stratum] = {"size": len(members), "drawn": k}
    covered = {p.agency_id for p in picks}
    red_by_agency: dict[str, list[Candidate]] = {}
    for candidate in by_stratum["red"]:
        red_by_agency.setdefault(candidate.agency_id, []).append(candidate)
    for agency_id in sorted(red_by_agency):
        if agency_id in covered:
            continue
        options = sorted(red_by_agency[agency_id], key=lambda c: c.contract_id)
        extra = random.Random(f"{seed}:{period}:cover:{agency_id}").choice(options)
        picks.append(Pick(extra.contract_id, agency_id, "red", "red_coverage"))
        covered.add(agency_id)
    return Sample(picks=picks, strata=strata, population_size=len(unique),
                  population_sha256=population_digest(list(unique.values())))
