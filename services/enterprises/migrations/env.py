"""Alembic environment of the enterprises service (its own metadata and version table)."""

from services.enterprises.models import metadata
from shared.migrations import run_env

run_env(metadata, service="enterprises")
