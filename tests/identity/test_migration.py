"""The organisations migration on existing data, on both backends: every USCC already used by an
agency or enterprise account gets a ``verified`` organisation (district from USCC positions 3–8,
else the city) with its earliest account as admin; usernames differing only in case keep the older
account and disable the later one; the case-insensitive index then holds."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from shared import migrations
from shared.db import Database
from tests.identity.helpers import fresh_uscc

BEFORE = "544dceb6aa19"  # the last revision without organisations


async def test_existing_accounts_get_verified_organisations(backend):
    settings = backend.settings()
    db = Database(settings.database_url_for("gateway"), service="gateway")
    await db.ensure_database()
    try:
        await migrations.upgrade(db, "gateway")
        await migrations.downgrade(db, "gateway", BEFORE)
        agency, enterprise, elsewhere = fresh_uscc("440703"), fresh_uscc("440705"), fresh_uscc("450100")
        t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
        rows = [
            ("agency-first", "agency", agency, "安泰机构", t0),
            ("agency-second", "agency", agency, "安泰机构 2", t0 + timedelta(days=1)),
            ("Mixed.Case", "enterprise", enterprise, "利达五金", t0 + timedelta(days=2)),
            ("mixed.case", "enterprise", elsewhere, "外省企业", t0 + timedelta(days=3)),
            ("city-bureau", "bureau", None, None, t0),
        ]
        ids = {}
        async with db.engine.begin() as conn:
            for username, role, uscc, name, at in rows:
                ids[username] = uuid.uuid4()
                await conn.execute(sa.text(
                    "INSERT INTO accounts (id, username, password_hash, role, district, org_uscc, display_name, disabled, "
                    "created_at) VALUES (:id, :u, NULL, :role, :district, :uscc, :name, :disabled, :at)"),
                    {"id": ids[username] if not db.is_sqlite else ids[username].hex, "u": username, "role": role,
                     "district": "440700" if role == "bureau" else None, "uscc": uscc, "name": name,
                     "disabled": False, "at": at})
            await conn.execute(sa.text(
                "INSERT INTO clients (client_id, name, secret_hash, account_id, grant_types, redirect_uris, scopes, "
                "created_at) VALUES ('cl-kept', 'erp', 'x', :acct, 'client_credentials', '', 'custody.read', :at)"),
                {"acct": ids["agency-first"] if not db.is_sqlite else ids["agency-first"].hex, "at": t0})
        await migrations.upgrade(db, "gateway")
        async with db.engine.connect() as conn:
            # no table rebuild cascaded to the accounts' clients
            assert (await conn.execute(sa.text("SELECT count(*) FROM clients WHERE client_id = 'cl-kept'"))).scalar() == 1
            orgs = {r.uscc: r for r in (await conn.execute(sa.text("SELECT * FROM organisations"))).all()}
            accounts = {r.username: r for r in (await conn.execute(sa.text("SELECT * FROM accounts"))).all()}
        assert set(orgs) == {agency, enterprise, elsewhere}
        assert orgs[agency].status == "verified" and orgs[agency].kind == "agency" and orgs[agency].district == "440703"
        assert str(orgs[agency].admin_account_id).replace("-", "") == ids["agency-first"].hex
        assert orgs[enterprise].district == "440705" and orgs[enterprise].kind == "enterprise"
        assert orgs[elsewhere].district == "440700"  # positions 3–8 are no district of Jiangmen: the city
        assert all(o.decided_by == "migration" and o.verified_at is not None for o in orgs.values())
        assert accounts["Mixed.Case"].username_key == "mixed.case" and not accounts["Mixed.Case"].disabled
        assert accounts["mixed.case"].disabled and "case" in accounts["mixed.case"].disabled_reason
        assert accounts["city-bureau"].username_key == "city-bureau"
        with pytest.raises(IntegrityError):
            async with db.engine.begin() as conn:
                await conn.execute(sa.text(
                    "INSERT INTO accounts (id, username, username_key, role, disabled, created_at) "
                    "VALUES (:id, 'AGENCY-FIRST', 'agency-first', 'agency', false, :at)"),
                    {"id": uuid.uuid4().hex if db.is_sqlite else uuid.uuid4(), "at": t0})
    finally:
        await db.dispose()
