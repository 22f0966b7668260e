"""Alembic environment of the contracts service (its own metadata and version table)."""

from services.contracts.models import metadata
from shared.migrations import run_env

run_env(metadata, service="contracts")
