"""Prometheus and Grafana in docker-compose.yml (issue #21 item 3): Prometheus scrapes every
component where it serves, the dashboard asks only for metrics the code exports, and the files
compose mounts exist."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import prometheus_client
import yaml

# what registers every metric: the gateway's, the services' and the bus's
for module in ("gateway.main", "shared.app", "shared.events.metrics"):
    importlib.import_module(module)

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
PROMETHEUS = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
DASHBOARD = json.loads((ROOT / "deploy/grafana/dashboards/custody.json").read_text())
APPS = ("gateway", "registry", "enterprises", "contracts", "audit", "notify")


def test_prometheus_scrapes_every_app_at_the_port_it_serves() -> None:
    targets = {
        name: sd["port"]
        for job in PROMETHEUS["scrape_configs"]
        for sd in job.get("dns_sd_configs", [])
        for name in sd["names"]
    }
    assert set(targets) == set(APPS)
    for name, port in targets.items():
        assert str(port) in COMPOSE["services"][name]["command"], name


def test_the_dashboard_asks_only_for_exported_metrics() -> None:
    exported = set()
    for metric in prometheus_client.REGISTRY.collect():
        exported.add(metric.name)
        exported.update(sample.name for sample in metric.samples)
    exprs = [target["expr"] for panel in DASHBOARD["panels"] for target in panel["targets"]]
    asked = {name for expr in exprs for name in re.findall(r"\b(custody_[a-z_]+)", expr)}
    assert asked, "the dashboard queries nothing"
    for name in asked:
        base = re.sub(r"_(bucket|count|sum|total)$", "", name)
        assert name in exported or base in exported, name
    for needed in ("custody_outbox_oldest_age_seconds", "custody_consumer_pending", "custody_dead_letters"):
        assert needed in asked


def test_compose_mounts_files_that_exist_and_grafana_waits_for_prometheus() -> None:
    services = COMPOSE["services"]
    for name in ("prometheus", "grafana"):
        for volume in services[name]["volumes"]:
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), source
    assert services["grafana"]["depends_on"]["prometheus"] == {"condition": "service_healthy"}
    provisioned = yaml.safe_load((ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text())
    uid = provisioned["datasources"][0]["uid"]
    assert all(panel["datasource"]["uid"] == uid for panel in DASHBOARD["panels"])


def test_every_component_sends_its_traces_to_the_compose_trace_backend() -> None:
    services = COMPOSE["services"]
    assert "jaeger" in services and services["jaeger"]["environment"]["COLLECTOR_OTLP_ENABLED"] == "true"
    for name in APPS:
        env = services[name]["environment"]
        assert env["CUSTODY_OTLP_ENDPOINT"] == "http://jaeger:4318", name
        assert 0 < float(env["CUSTODY_TRACE_SAMPLE_RATIO"]) <= 1
