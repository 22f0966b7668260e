"""Alembic environment of the registry service (its own metadata and version table)."""
from shared.migrations import run_env
from services.registry.models import metadata

run_env(metadata, service="registry")
