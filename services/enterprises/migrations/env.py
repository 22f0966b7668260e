"""Alembic environment of the enterprises service (its own metadata and version table)."""
from shared.migrations import run_env
from services.enterprises.models import metadata

run_env(metadata, service="enterprises")
