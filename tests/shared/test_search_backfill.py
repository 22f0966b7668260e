"""The migrations that add the q= indexes cut the tokens of the rows already there, on both backends."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import sqlalchemy as sa

from shared import migrations
from shared.db import Database
from shared.search import row_tokens

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
ROWS = {
    "registry": (
        "94eb60abde60",
        "directory_search",
        "directory_entry",
        {
            "agency_id": uuid.uuid4(),
            "agency_version": 1,
            "name": "江门市新会区安泰安全咨询有限公司",
            "uscc": "91440703MA4UXXXX1L",
            "district_code": "440703",
            "filing_no": "JM-AQ-2026-00001",
            "service_districts": [],
            "service_industries": [],
            "registered_engineers": [],
            "listed_at": NOW,
        },
        ("name", "filing_no", "uscc"),
    ),
    "enterprises": (
        "87478ff868c3",
        "enterprise_search",
        "enterprises",
        {
            "id": uuid.uuid4(),
            "uscc": "91440703MA4UXXXX1L",
            "name": "江门市示例五金制品有限公司",
            "industry": "machinery",
            "district_code": "440703",
            "town": "440703001",
            "address": "江门市蓬江区",
            "employees": 1,
            "major_hazard_source": False,
            "hazard_flags": [],
            "contact_name": "张三",
            "contact_phone": "13800138000",
            "risk_level": "blue",
            "base_level": "blue",
            "version": 1,
            "created_at": NOW,
            "updated_at": NOW,
        },
        ("name", "uscc"),
    ),
}


@pytest.mark.parametrize("service", sorted(ROWS))
async def test_the_migration_backfills_existing_rows(backend, service):
    revision, index_name, table_name, row, fields = ROWS[service]
    models = __import__(f"services.{service}.models", fromlist=["metadata"])
    table, index = models.metadata.tables[table_name], models.metadata.tables[index_name]
    db = Database(backend.settings().database_url_for(service), service=service)
    await db.ensure_database()
    try:
        await migrations.upgrade(db, service)
        async with db.transaction() as session:
            await session.execute(sa.insert(table), [row])
        await migrations.downgrade(db, service, f"{revision}-1")
        await migrations.upgrade(db, service)
        async with db.reader() as session:
            tokens = set((await session.execute(sa.select(index.c.token))).scalars())
        assert tokens == row_tokens([row[f] for f in fields])
    finally:
        await db.dispose()
