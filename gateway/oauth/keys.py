"""Signing keys: RS256 with joserfc, persisted in the gateway database, parsed once.

Exactly one key is active (``retired_at`` is null) and signs new tokens. Rotation makes a new key
active and retires the old one; a retired key stays in the JWKS until every token it signed has
expired (``retired_at + access_token_ttl + leeway``), so live tokens keep verifying.

Origins: ``file`` (``CUSTODY_SIGNING_KEY_FILE``), ``generated`` (made by the gateway outside
development), ``development`` (made by the gateway in development/test; refused in production).
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from typing import Any

import anyio
import sqlalchemy as sa
import structlog
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

from shared.clock import Clock, as_utc
from shared.db import Database
from shared.settings import Settings

from gateway.models import SigningKey

log = structlog.get_logger("gateway.keys")

ALGORITHM = "RS256"
KEY_BITS = 2048
LEEWAY_SECONDS = 60


class StartupRefused(RuntimeError):
    """The gateway will not start with this configuration (production safety checks)."""


def _generate() -> RSAKey:
    key = RSAKey.generate_key(KEY_BITS, parameters={"alg": ALGORITHM, "use": "sig"}, private=True)
    return _with_kid(key)


def _with_kid(key: RSAKey) -> RSAKey:
    data = key.as_dict(private=True)
    data.update({"kid": key.thumbprint(), "alg": ALGORITHM, "use": "sig"})
    return RSAKey.import_key(data)


class KeyStore:
    def __init__(self, db: Database, settings: Settings, clock: Clock) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.active: RSAKey | None = None
        self._keys: dict[str, RSAKey] = {}
        self._rows: list[dict[str, Any]] = []
        self._keyset: KeySet = KeySet([])
        self._jwks: dict[str, Any] = {"keys": []}

    # --- loading -------------------------------------------------------------------------
    async def start(self) -> None:
        if self.settings.signing_key_file:
            await self._install_file_key()
        await self.load()
        if self.active is None:
            origin = "generated" if self.settings.is_production else "development"
            await self._add(await anyio.to_thread.run_sync(_generate), origin)
            await self.load()
        active_row = next(r for r in self._rows if r["retired_at"] is None)
        if self.settings.is_production and active_row["origin"] == "development":
            raise StartupRefused("the active signing key is a development key; set CUSTODY_SIGNING_KEY_FILE or rotate "
                                 "(POST /api/v1/admin/keys/rotate) before running in production")

    async def _install_file_key(self) -> None:
        path = self.settings.signing_key_file
        try:
            raw = path.read_bytes()
            key = RSAKey.import_key(raw if not raw.lstrip().startswith(b"{") else json.loads(raw))
        except (OSError, ValueError, JoseError) as exc:
            raise StartupRefused(f"cannot read the signing key file {path}: {exc}") from exc
        if not key.is_private:
            raise StartupRefused(f"the signing key file {path} holds no private key")
        if key.raw_value.key_size < KEY_BITS:
            raise StartupRefused(f"the signing key in {path} is shorter than {KEY_BITS} bits")
        key = _with_kid(key)
        async with self.db.transaction() as session:
            existing = await session.get(SigningKey, key.kid)
            if existing is not None and existing.retired_at is None:
                return
            if existing is None:
                await self._retire_active(session)
                session.add(SigningKey(kid=key.kid, private_jwk=json.dumps(key.as_dict(private=True)), origin="file",
                                       created_at=self.clock.now()))
            # a file key that was rotated away stays retired: the operator asked for a newer key

    async def load(self) -> None:
        horizon = self.clock.now() - timedelta(seconds=self.settings.access_token_ttl_seconds + LEEWAY_SECONDS)
        async with self.db.reader() as session:
            rows = (await session.execute(sa.select(SigningKey).order_by(SigningKey.created_at))).scalars().all()
        live = [r for r in rows if r.retired_at is None or as_utc(r.retired_at) > horizon]
        keys: dict[str, RSAKey] = {}
        for row in live:
            keys[row.kid] = self._keys.get(row.kid) or RSAKey.import_key(json.loads(row.private_jwk))
        active = [r for r in live if r.retired_at is None]
        self._rows = [{"kid": r.kid, "origin": r.origin, "created_at": as_utc(r.created_at),
                       "retired_at": as_utc(r.retired_at)} for r in live]
        self._keys = keys
        self.active = keys[active[-1].kid] if active else None
        self._keyset = KeySet(list(keys.values()))
        self._jwks = {"keys": [k.as_dict(private=False) for k in keys.values()]}

    async def _add(self, key: RSAKey, origin: str) -> None:
        async with self.db.transaction() as session:
            await self._retire_active(session)
            session.add(SigningKey(kid=key.kid, private_jwk=json.dumps(key.as_dict(private=True)), origin=origin,
                                   created_at=self.clock.now()))

    async def _retire_active(self, session) -> None:  # noqa: ANN001
        await session.execute(sa.update(SigningKey).where(SigningKey.retired_at.is_(None))
                              .values(retired_at=self.clock.now()))

    async def rotate(self) -> str:
        key = await anyio.to_thread.run_sync(_generate)
        await self._add(key, "development" if self.settings.env == "development" else "generated")
        await self.load()
        log.info("gateway.keys.rotated", kid=key.kid)
        return key.kid

    # --- use -----------------------------------------------------------------------------
    def jwks(self) -> dict[str, Any]:
        return self._jwks

    def describe(self) -> list[dict[str, Any]]:
        ttl = timedelta(seconds=self.settings.access_token_ttl_seconds + LEEWAY_SECONDS)
        return [{"kid": r["kid"], "origin": r["origin"], "active": r["retired_at"] is None,
                 "created_at": r["created_at"].isoformat(),
                 "retired_at": r["retired_at"].isoformat() if r["retired_at"] else None,
                 "published_until": (r["retired_at"] + ttl).isoformat() if r["retired_at"] else None}
                for r in self._rows]

    def sign(self, claims: dict[str, Any]) -> str:
        assert self.active is not None
        return jwt.encode({"alg": ALGORITHM, "kid": self.active.kid, "typ": "at+jwt"}, claims, self.active)

    def verify(self, token: str) -> dict[str, Any] | None:
        """The claims of a token this gateway signed with a published key (signature only; the
        caller decides about expiry), or None."""
        try:
            decoded = jwt.decode(token, self._keyset, algorithms=[ALGORITHM])
        except (JoseError, ValueError, TypeError):
            return None
        claims = decoded.claims
        if claims.get("iss") != self.settings.issuer_url:
            return None
        return claims

    @staticmethod
    def now_epoch() -> int:
        return int(time.time())

    @property
    def keyset(self) -> KeySet:
        return self._keyset

    @property
    def kids(self) -> set[str]:
        return set(self._keys)
