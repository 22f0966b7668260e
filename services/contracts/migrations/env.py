"""Alembic environment of the contracts service (its own metadata and version table)."""
from shared.migrations import run_env
from services.contracts.models import metadata

run_env(metadata, service="contracts")
