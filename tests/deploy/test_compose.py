"""docker-compose.yml cannot run here (no Docker engine), so test what can be tested: it is a
valid Compose document, it names every component, and every CUSTODY_* variable it sets is one
the code reads."""

from __future__ import annotations

import re
from pathlib import Path

import jsonschema
import yaml

from shared.settings import Settings
from tests.schemas import load_schema

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = load_schema("compose-spec.json")
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_file_validates_against_the_compose_specification():
    jsonschema.validate(COMPOSE, SCHEMA)


def test_every_component_and_a_three_node_nats_cluster_are_present():
    services = COMPOSE["services"]
    for name in ("postgres", "gateway", "registry", "enterprises", "contracts", "audit", "nats1", "nats2", "nats3"):
        assert name in services
    assert services["contracts"]["deploy"]["replicas"] == 2
    env = services["registry"]["environment"]
    assert env["CUSTODY_STREAM_REPLICAS"] == "3"
    assert len(env["CUSTODY_NATS_URL"].split(",")) == 3
    for node in ("nats1", "nats2", "nats3"):
        assert "-js" in services[node]["command"] and "--routes" in services[node]["command"]


def test_every_custody_variable_is_a_setting():
    known = {f"CUSTODY_{name.upper()}" for name in Settings.model_fields}
    used = set()
    for service in COMPOSE["services"].values():
        used |= {k for k in (service.get("environment") or {}) if k.startswith("CUSTODY_")}
    used |= set(re.findall(r"CUSTODY_[A-Z_]+", (ROOT / "Dockerfile").read_text()))
    assert used, "compose sets no CUSTODY_ variables"
    assert used <= known, f"unknown settings: {sorted(used - known)}"


def test_each_service_command_runs_its_own_app_factory():
    for name in ("registry", "enterprises", "contracts", "audit"):
        assert f"services.{name}.main:create_app" in COMPOSE["services"][name]["command"]
    assert "gateway.main:create_app" in COMPOSE["services"]["gateway"]["command"]
    assert "portal.main:create_app" in COMPOSE["services"]["portal"]["command"]
