"""The service template holds (docs/DEVELOPING.md): every service has the same files, split by the
same rule; no service imports another; SQL is written only in a service's repository layer, and so
is every ownership or district rule; shared/ depends on no service, the CLI or the dev tools.

Each rule is checked on the source, so breaking it fails here before it drifts anywhere."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(p.name for p in (ROOT / "services").iterdir() if (p / "main.py").exists())
TEMPLATE = ("main", "api", "service", "repository", "models", "schemas", "events", "consumers")
STATEFUL = ("states",)  # every service whose entities have states (all of them but enterprises)
SPLIT_AT = 400  # lines: a module past it becomes a package of the same name
SQL = re.compile(
    r"\b(sa|sqlalchemy)\.(select|update|insert|delete|text|exists)\(|\.execute\(|\bselect\(|"
    r"\bdialect_insert\(|\.with_for_update\("
)
OWNERSHIP = re.compile(
    r"\.is_org\(|\.governs\(|\.org_uscc\b|\bprincipal\.district\b|\.sees_everything\b|"
    r"\bscopes\."
)
# Modules where SQL and ownership rules may be written: the repository layer, the tables
# themselves and the migrations.
SQL_HOMES = ("repository", "models", "migrations")


def modules(service: str) -> list[Path]:
    return sorted(p for p in (ROOT / "services" / service).rglob("*.py") if "migrations" not in p.parts)


def top_name(service: str, path: Path) -> str:
    return path.relative_to(ROOT / "services" / service).parts[0].removesuffix(".py")


@pytest.mark.parametrize("service", SERVICES)
def test_service_has_the_template_files(service: str) -> None:
    root = ROOT / "services" / service
    present = {p.name.removesuffix(".py") for p in root.iterdir() if p.suffix == ".py" or (p / "__init__.py").exists()}
    missing = [name for name in TEMPLATE if name not in present]
    assert not missing, f"services/{service} lacks {missing}"
    assert (root / "migrations" / "env.py").exists()
    if service != "enterprises":
        assert "states" in present, f"services/{service} declares its state machines in states.py"


@pytest.mark.parametrize("service", SERVICES)
def test_modules_past_the_split_rule_are_packages(service: str) -> None:
    long = [str(p.relative_to(ROOT)) for p in modules(service) if len(p.read_text().splitlines()) > SPLIT_AT]
    assert not long, f"split into a package of the same name: {long}"


@pytest.mark.parametrize("service", SERVICES)
def test_no_service_imports_another(service: str) -> None:
    offenders = []
    for path in modules(service):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                parts = name.split(".")
                if parts[0] in ("services", "gateway", "cli", "devtools", "portal") and parts[:2] != [
                    "services",
                    service,
                ]:
                    offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert not offenders


@pytest.mark.parametrize("service", SERVICES)
def test_sql_is_written_only_in_the_repository_layer(service: str) -> None:
    offenders = [
        f"{p.relative_to(ROOT)}:{n}: {line.strip()}"
        for p in modules(service)
        if top_name(service, p) not in SQL_HOMES
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if SQL.search(line)
    ]
    assert not offenders, "\n".join(offenders)


@pytest.mark.parametrize("service", SERVICES)
def test_ownership_and_district_rules_live_in_the_repository(service: str) -> None:
    offenders = [
        f"{p.relative_to(ROOT)}:{n}: {line.strip()}"
        for p in modules(service)
        if top_name(service, p) != "repository"
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if OWNERSHIP.search(line)
    ]
    assert not offenders, "\n".join(offenders)


def test_shared_depends_on_no_service_cli_or_devtools() -> None:
    offenders = []
    for path in sorted((ROOT / "shared").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in (
                "services",
                "gateway",
                "cli",
                "devtools",
                "portal",
            ):
                offenders.append(f"{path.relative_to(ROOT)}: {node.module}")
    assert not offenders


def test_the_rules_catch_what_they_are_for(tmp_path: Path) -> None:
    """The checks above fail when a rule is broken (so a passing run means something)."""
    assert SQL.search("rows = await session.execute(sa.select(Contract))")
    assert SQL.search("stmt = select(Contract).with_for_update()")
    assert not SQL.search("contract = await contracts.get(contract_id, uow.principal, write=True)")
    assert OWNERSHIP.search("if principal.is_org(contract.agency_uscc):")
    assert OWNERSHIP.search("stmt = stmt.where(Contract.district_code == principal.district)")
    assert not OWNERSHIP.search("step = CONTRACT.step(SIGN, contract.status, principal.role)")


def _dependency_calls(dependant) -> set:
    calls = {dependant.call} if dependant.call else set()
    for sub in dependant.dependencies:
        calls |= _dependency_calls(sub)
    return calls


@pytest.mark.parametrize("service", SERVICES)
def test_every_write_route_declares_who_may_call_it(service: str) -> None:
    """The organisation rule (SPEC §14) and the write scope are judged by the principal
    dependencies; the request's unit of work only names the caller. So every POST, PUT, PATCH and
    DELETE must declare one (``MaybePrincipal`` where anonymous callers are allowed)."""
    import importlib

    from shared import auth

    judges = {auth.require_principal, auth.require_principal_pending_org, auth.optional_principal, auth.require_account}
    app = importlib.import_module(f"services.{service}.main").create_app()
    routes = [ctx for r in app.routes if hasattr(r, "effective_route_contexts") for ctx in r.effective_route_contexts()]
    writes = [r for r in routes if set(r.methods or ()) & {"POST", "PUT", "PATCH", "DELETE"}]
    assert writes, "no write routes found: the route walk is broken"
    unjudged = [f"{sorted(r.methods)} {r.path}" for r in writes if not _dependency_calls(r.dependant) & judges]
    assert not unjudged, unjudged
