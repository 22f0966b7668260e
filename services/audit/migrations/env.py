"""Alembic environment of the audit service (its own metadata and version table)."""
from shared.migrations import run_env
from services.audit.models import metadata

run_env(metadata, service="audit")
