"""Tables of the registry service (its own metadata; see shared.db.service_base)."""

from __future__ import annotations

from shared.db import service_base
from shared.tables import infrastructure_tables

Base = service_base("registry")
metadata = Base.metadata
infra = infrastructure_tables(metadata)
