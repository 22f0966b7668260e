"""The organisations migration on existing data, on both backends: every USCC already used by an
agency or enterprise account gets a ``verified`` organisation (district from USCC positions 3–8,
else the city) with its earliest account as admin; usernames differing only in case keep the older
account and disable the later one; the case-insensitive index then holds."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

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
        t0 = datetime(2026, 1, 1, tzinfo=UTC)
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
                await conn.execute(
                    sa.text(
                        "INSERT INTO accounts (id, username, password_hash, role, district, org_uscc, display_name, "
                        "disabled, "
                        "created_at) VALUES (:id, :u, NULL, :role, :district, :uscc, :name, :disabled, :at)"
                    ),
                    {
                        "id": ids[username] if not db.is_sqlite else ids[username].hex,
                        "u": username,
                        "role": role,
                        "district": "440700" if role == "bureau" else None,
                        "uscc": uscc,
                        "name": name,
                        "disabled": False,
                        "at": at,
                    },
                )
            await conn.execute(
                sa.text(
                    "INSERT INTO clients (client_id, name, secret_hash, account_id, grant_types, redirect_uris, "
                    "scopes, "
                    "created_at) VALUES ('cl-kept', 'erp', 'x', :acct, 'client_credentials', '', 'custody.read', :at)"
                ),
                {"acct": ids["agency-first"] if not db.is_sqlite else ids["agency-first"].hex, "at": t0},
            )
        await migrations.upgrade(db, "gateway")
        async with db.engine.connect() as conn:
            # no table rebuild cascaded to the accounts' clients
            assert (
                await conn.execute(sa.text("SELECT count(*) FROM clients WHERE client_id = 'cl-kept'"))
            ).scalar() == 1
            orgs = {r.uscc: r for r in (await conn.execute(sa.text("SELECT * FROM organisations"))).all()}
            accounts = {r.username: r for r in (await conn.execute(sa.text("SELECT * FROM accounts"))).all()}
        assert set(orgs) == {agency, enterprise, elsewhere}
        assert orgs[agency].status == "verified"
        assert orgs[agency].kind == "agency"
        assert orgs[agency].district == "440703"
        assert str(orgs[agency].admin_account_id).replace("-", "") == ids["agency-first"].hex
        assert orgs[enterprise].district == "440705"
        assert orgs[enterprise].kind == "enterprise"
        assert orgs[elsewhere].district == "440700"  # positions 3–8 are no district of Jiangmen: the city
        assert all(o.decided_by == "migration" and o.verified_at is not None for o in orgs.values())
        assert accounts["Mixed.Case"].username_key == "mixed.case"
        assert not accounts["Mixed.Case"].disabled
        assert accounts["mixed.case"].disabled
        assert "case" in accounts["mixed.case"].disabled_reason
        assert accounts["city-bureau"].username_key == "city-bureau"
        with pytest.raises(IntegrityError):
            async with db.engine.begin() as conn:
                await conn.execute(
                    sa.text(
                        "INSERT INTO accounts (id, username, username_key, role, disabled, created_at) "
                        "VALUES (:id, 'AGENCY-FIRST', 'agency-first', 'agency', false, :at)"
                    ),
                    {"id": uuid.uuid4().hex if db.is_sqlite else uuid.uuid4(), "at": t0},
                )
    finally:
        await db.dispose()


ANNOUNCED = "2abc1ee713c4"  # accounts carry email, language and version


async def test_email_language_version_columns_keep_every_row_with_foreign_keys_on(backend):
    """Upgraded under foreign keys (as a careless runner would, not as ours does): no rebuild of
    ``accounts``, so nothing cascades to its clients, refresh tokens, invitations or organisations;
    existing accounts get version 0 (never announced) and no e-mail or language; the downgrade too."""
    from alembic import command

    settings = backend.settings()
    db = Database(settings.database_url_for("gateway"), service="gateway")
    await db.ensure_database()
    uscc = fresh_uscc("440703")
    account_id = uuid.uuid4()
    t0 = datetime(2026, 1, 1, tzinfo=UTC)

    def key(value: uuid.UUID):
        return value.hex if db.is_sqlite else value

    def run(revision: str, *, down: bool = False):
        def on(connection: sa.Connection) -> None:
            cfg = migrations.alembic_config("gateway")
            cfg.attributes["connection"] = connection
            (command.downgrade if down else command.upgrade)(cfg, revision)

        return on

    try:
        await migrations.upgrade(db, "gateway")
        await migrations.downgrade(db, "gateway", ANNOUNCED + "-1")
        async with db.engine.begin() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO accounts (id, username, username_key, role, org_uscc, display_name, disabled, "
                    "created_at) "
                    "VALUES (:id, 'old-owner', 'old-owner', 'agency', :uscc, '老机构', false, :at)"
                ),
                {"id": key(account_id), "uscc": uscc, "at": t0},
            )
            await conn.execute(
                sa.text(
                    "INSERT INTO organisations (uscc, kind, name, status, district, admin_account_id, version, "
                    "created_at, "
                    "updated_at) VALUES (:uscc, 'agency', '老机构', 'verified', '440703', :id, 1, :at, :at)"
                ),
                {"id": key(account_id), "uscc": uscc, "at": t0},
            )
            await conn.execute(
                sa.text(
                    "INSERT INTO clients (client_id, name, secret_hash, account_id, grant_types, redirect_uris, "
                    "scopes, "
                    "created_at) VALUES ('cl-old', 'erp', 'x', :id, 'client_credentials', '', 'custody.read', :at)"
                ),
                {"id": key(account_id), "at": t0},
            )
            await conn.execute(
                sa.text(
                    "INSERT INTO refresh_tokens (token_hash, family_id, client_id, account_id, scope, created_at, "
                    "expires_at) "
                    "VALUES ('h-old', :family, 'cl-old', :id, 'custody.read', :at, :at)"
                ),
                {"id": key(account_id), "family": key(uuid.uuid4()), "at": t0},
            )
        # db.engine has foreign keys on (SQLite): a batch rebuild of accounts would cascade here
        async with db.engine.begin() as conn:
            if db.is_sqlite:
                assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
            await conn.run_sync(run(ANNOUNCED))

        async def counts() -> dict[str, Any]:
            async with db.engine.connect() as conn:
                return {
                    table: (await conn.execute(sa.text(f"SELECT count(*) FROM {table}"))).scalar()
                    for table in ("accounts", "clients", "refresh_tokens", "organisations")
                }

        assert await counts() == {"accounts": 1, "clients": 1, "refresh_tokens": 1, "organisations": 1}
        async with db.engine.connect() as conn:
            row = (await conn.execute(sa.text("SELECT version, email, language FROM accounts"))).one()
            admin = (await conn.execute(sa.text("SELECT admin_account_id FROM organisations"))).scalar()
        assert (row.version, row.email, row.language) == (0, None, None)
        assert str(admin).replace("-", "") == account_id.hex
        async with db.engine.begin() as conn:
            await conn.run_sync(run(ANNOUNCED + "-1", down=True))
        assert await counts() == {"accounts": 1, "clients": 1, "refresh_tokens": 1, "organisations": 1}
        await migrations.upgrade(db, "gateway")
    finally:
        await db.dispose()
