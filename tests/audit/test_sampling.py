"""Quality-audit sampling: deterministic for a seed, stratified by risk, covering every agency
with red-risk clients (pure function)."""

from __future__ import annotations

import math
import random
import uuid

import pytest

from services.audit.service.audits import Candidate, draw, population_digest


def population(n: int = 200, *, agencies: int = 12, seed: int = 7) -> list[Candidate]:
    rng = random.Random(seed)
    levels = ["red"] * 1 + ["orange"] * 3 + ["yellow"] * 6 + ["blue"] * 10
    agency_ids = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(agencies)]
    return [
        Candidate(str(uuid.UUID(int=rng.getrandbits(128))), rng.choice(agency_ids), rng.choice(levels))
        for _ in range(n)
    ]


def test_same_seed_same_sample_whatever_the_input_order():
    pop = population()
    first = draw(pop, seed="2026", period="2026-Q4", rate=0.1)
    shuffled = pop[:]
    random.Random(1).shuffle(shuffled)
    again = draw(shuffled, seed="2026", period="2026-Q4", rate=0.1)
    assert first == again
    assert first.population_sha256 == population_digest(shuffled)


def test_another_seed_or_period_gives_another_sample():
    pop = population()
    base = {p.contract_id for p in draw(pop, seed="1", period="2026-Q4", rate=0.1).picks}
    assert base != {p.contract_id for p in draw(pop, seed="2", period="2026-Q4", rate=0.1).picks}
    assert base != {p.contract_id for p in draw(pop, seed="1", period="2027-Q1", rate=0.1).picks}


def test_recomputable_from_the_documented_recipe():
    """Anyone can recompute a stratum's draw from the log: Random(f"{seed}:{period}:{stratum}")
    over the stratum sorted by contract id."""
    pop = population()
    sample = draw(pop, seed="42", period="2026-Q4", rate=0.1)
    yellow = sorted((c for c in pop if c.risk_level == "yellow"), key=lambda c: c.contract_id)
    expected = random.Random("42:2026-Q4:yellow").sample(yellow, math.ceil(0.1 * len(yellow)))
    drawn = [p.contract_id for p in sample.picks if p.risk_level == "yellow" and p.reason == "stratum"]
    assert sorted(drawn) == sorted(c.contract_id for c in expected)


@pytest.mark.parametrize("rate", [0.01, 0.1, 0.25, 0.5, 1.0])
def test_each_stratum_gets_ceil_of_rate_times_size(rate):
    pop = population()
    sample = draw(pop, seed=3, period="2026", rate=rate)
    for level in ("red", "orange", "yellow", "blue"):
        size = sum(1 for c in pop if c.risk_level == level)
        drawn = [p for p in sample.picks if p.risk_level == level and p.reason == "stratum"]
        assert len(drawn) == math.ceil(rate * size) == sample.strata[level]["drawn"]
        assert sample.strata[level]["size"] == size
    assert sample.population_size == len(pop)
    assert len({p.contract_id for p in sample.picks}) == len(sample.picks)  # no contract twice


@pytest.mark.parametrize("seed", range(25))
def test_every_agency_with_red_clients_is_covered(seed):
    pop = population(seed=seed)
    sample = draw(pop, seed=seed, period="2026-Q4", rate=0.05)
    with_red = {c.agency_id for c in pop if c.risk_level == "red"}
    covered = {p.agency_id for p in sample.picks}
    assert with_red <= covered
    for pick in sample.picks:
        if pick.reason == "red_coverage":
            assert pick.risk_level == "red"
            assert pick.agency_id not in {p.agency_id for p in sample.picks if p.reason == "stratum"}


def test_coverage_adds_exactly_the_uncovered_agencies():
    a, b = "a" * 8, "b" * 8
    pop = [Candidate(f"c{i:03d}", a, "blue") for i in range(20)] + [
        Candidate("r1", a, "red"),
        Candidate("r2", b, "red"),
        Candidate("r3", b, "red"),
    ]
    sample = draw(pop, seed="x", period="2026-Q4", rate=0.1)
    # red stratum: ceil(0.1 × 3) = 1 draw; the other red agency is added by coverage
    red_stratum = [p for p in sample.picks if p.reason == "stratum" and p.risk_level == "red"]
    extra = [p for p in sample.picks if p.reason == "red_coverage"]
    assert len(red_stratum) == 1
    assert {p.agency_id for p in sample.picks} == {a, b}
    # a is covered by the blue draws already; only b may need the extra pick
    assert [p.agency_id for p in extra] == ([] if red_stratum[0].agency_id == b else [b])


def test_unknown_risk_is_its_own_stratum_and_empty_population_is_fine():
    sample = draw([Candidate("c1", "a", "purple")], seed=1, period="2026", rate=0.1)
    assert sample.picks[0].risk_level == "unknown"
    assert sample.strata == {"unknown": {"size": 1, "drawn": 1}}
    empty = draw([], seed=1, period="2026", rate=0.1)
    assert empty.picks == []
    assert empty.population_size == 0


def test_rate_out_of_range_is_refused():
    with pytest.raises(ValueError):
        draw([], seed=1, period="2026", rate=0)


def test_watched_agencies_form_their_own_strata_at_twice_the_rate():
    pop = population(400, agencies=8)
    watched = frozenset({pop[0].agency_id, pop[1].agency_id})
    sample = draw(pop, seed="s", period="2026", rate=0.1, watched=watched)
    for level in ("orange", "yellow", "blue"):
        in_watch = [c for c in pop if c.risk_level == level and c.agency_id in watched]
        others = [c for c in pop if c.risk_level == level and c.agency_id not in watched]
        assert sample.strata[f"{level}:watched"] == {"size": len(in_watch), "drawn": math.ceil(0.2 * len(in_watch))}
        assert sample.strata[level] == {"size": len(others), "drawn": math.ceil(0.1 * len(others))}
    capped = draw(pop, seed="s", period="2026", rate=0.6, watched=watched)
    assert all(v["drawn"] == v["size"] for k, v in capped.strata.items() if k.endswith(":watched"))


def test_the_server_nonce_is_part_of_the_seed_and_recomputable():
    pop = population()
    one = draw(pop, seed="42", period="2026-Q4", rate=0.1, server_nonce="a" * 32)
    other = draw(pop, seed="42", period="2026-Q4", rate=0.1, server_nonce="b" * 32)
    assert {p.contract_id for p in one.picks} != {p.contract_id for p in other.picks}
    yellow = sorted((c for c in pop if c.risk_level == "yellow"), key=lambda c: c.contract_id)
    expected = random.Random(f"42:{'a' * 32}:2026-Q4:yellow").sample(yellow, math.ceil(0.1 * len(yellow)))
    drawn = [p.contract_id for p in one.picks if p.risk_level == "yellow" and p.reason == "stratum"]
    assert sorted(drawn) == sorted(c.contract_id for c in expected)
    # a sample logged before the nonce existed recomputes as it was drawn
    assert draw(pop, seed="42", period="2026-Q4", rate=0.1) == draw(
        pop, seed="42", period="2026-Q4", rate=0.1, server_nonce=""
    )
