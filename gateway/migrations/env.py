"""Alembic environment of the gateway service (its own metadata and version table)."""
from shared.migrations import run_env
from gateway.models import metadata

run_env(metadata, service="gateway")
