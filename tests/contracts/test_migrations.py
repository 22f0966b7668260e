"""The contracts migrations beyond "upgrade builds the models" (tests/shared/test_migrations.py):
``drafted_by`` is filled in for the contracts that existed before it, and checked from then on —
and no contract loses its history or signatures on the way (a SQLite table rebuild would cascade)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from services.contracts.models import metadata
from shared import migrations
from shared.db import Database

BEFORE_DRAFTED_BY = "2e54729794a2"


def contract_row(created_by: str) -> dict:
    now = datetime(2026, 3, 2, 9, tzinfo=UTC)
    return {
        "id": uuid.uuid4(),
        "status": "draft",
        "version": 1,
        "enterprise_uscc": "91440703MA4UX0AA9K",
        "enterprise_name": "企业",
        "district_code": "440703",
        "agency_id": uuid.uuid4(),
        "agency_uscc": "91440703MA4UX0AB7F",
        "agency_name": "机构",
        "engineer_name": "张伟",
        "services": [{"item": "hazard_inspection", "times_per_year": 4}],
        "start_date": date(2026, 4, 1),
        "end_date": date(2027, 3, 31),
        "fee_yuan": 1,
        "risk_flagged": False,
        "created_by": created_by,
        "created_at": now,
        "updated_at": now,
    }


async def test_drafted_by_is_backfilled_from_the_creator_and_checked(backend):
    db = Database(backend.settings().database_url_for("contracts"), service="contracts")
    await db.ensure_database()
    contracts = metadata.tables["contracts"]
    try:
        await migrations.upgrade(db, "contracts")
        await migrations.downgrade(db, "contracts", BEFORE_DRAFTED_BY)
        async with db.engine.begin() as conn:
            old_columns = {c["name"] for c in await conn.run_sync(lambda c: sa.inspect(c).get_columns("contracts"))}
            assert "drafted_by" not in old_columns
            for creator in ("agency:agency-signer", "enterprise:enterprise-signer"):
                await conn.execute(sa.insert(contracts).values(**contract_row(creator)))
        await migrations.upgrade(db, "contracts")
        async with db.engine.begin() as conn:
            rows = (
                await conn.execute(
                    sa.select(contracts.c.created_by, contracts.c.drafted_by).order_by(contracts.c.created_by)
                )
            ).all()
        assert [tuple(r) for r in rows] == [
            ("agency:agency-signer", "agency"),
            ("enterprise:enterprise-signer", "enterprise"),
        ]
        with pytest.raises(sa.exc.IntegrityError):
            async with db.engine.begin() as conn:
                await conn.execute(sa.update(contracts).values(drafted_by="bureau"))
    finally:
        await migrations.downgrade(db, "contracts", "base")
        await db.dispose()
