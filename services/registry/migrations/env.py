"""Alembic environment of the registry service (its own metadata and version table)."""

from services.registry.models import metadata
from shared.migrations import run_env

run_env(metadata, service="registry")
