"""Signing keys: RS256 with joserfc, persisted in the gateway database, parsed once.

One key signs at a time. Rotation publishes a new key at once but starts signing with it only
``ACTIVATION_DELAY`` later (the old key's ``retired_at``): a service refetches the JWKS at most every
5 s on an unknown ``kid``, so by the time the first token with the new ``kid`` arrives, any
refetch returns the new key. A retired key stays in the JWKS until every token it signed has
expired (``retired_at + access_token_ttl + leeway``), so live tokens keep verifying.

Origins: ``file`` (``CUSTODY_SIGNING_KEY_FILE``), ``generated`` (made by the gateway outside
development), ``development`` (made by the gateway in development/test; refused in production).

Private keys are encrypted at rest (Fernet, ``cryptography``) with a key derived from
``CUSTODY_KEY_ENCRYPTION_KEY`` (comma-separated to rotate it: the first encrypts, each decrypts;
rows are re-encrypted with the first at start). Production refuses to start without one of its
own. A retired key may be revoked (``POST /api/v1/admin/keys/{kid}/revoke``): it leaves the JWKS
at once. Rotation and revocation are announced on the bus (``key.rotated``, ``key.revoked``) so
services refetch the JWKS at once instead of at their next scheduled refresh.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import anyio
import sqlalchemy as sa
import structlog
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from gateway import events
from gateway.models import SigningKey
from shared.clock import Clock, as_utc
from shared.context import request_id_var
from shared.db import Database
from shared.errors import Conflict, ErrorCode, NotFound
from shared.i18n import text
from shared.settings import DEV_KEY_ENCRYPTION_KEY, Settings
from shared.uow import UnitOfWork

log = structlog.get_logger("gateway.keys")

ALGORITHM = "RS256"
KEY_BITS = 2048
LEEWAY_SECONDS = 60
ACTIVATION_DELAY = timedelta(seconds=6)  # > the 5 s JWKS refetch interval of shared.auth.TokenVerifier


class StartupRefused(RuntimeError):
    """The gateway will not start with this configuration (production safety checks)."""


ENCRYPTED_PREFIX = "enc:v1:"
MIN_PRODUCTION_KEK = 32


def _fernet_key(secret: str) -> bytes:
    import base64
    import hashlib

    return base64.urlsafe_b64encode(hashlib.sha256(b"custody-signing-keys:" + secret.encode()).digest())


class KeyCipher:
    """Encrypts private JWKs at rest; the first secret encrypts, every one decrypts."""

    def __init__(self, secrets: list[str]) -> None:
        from cryptography.fernet import Fernet, MultiFernet

        self.primary = Fernet(_fernet_key(secrets[0]))
        # Rows written under the development default (a database carried over from a trial run)
        # stay readable, as plaintext rows from before encryption do; start-up re-encrypts them.
        self.all = MultiFernet([Fernet(_fernet_key(s)) for s in [*secrets, DEV_KEY_ENCRYPTION_KEY]])

    @classmethod
    def from_settings(cls, settings: Settings) -> KeyCipher:
        return cls(key_encryption_secrets(settings) or [DEV_KEY_ENCRYPTION_KEY])

    def encrypt(self, plaintext: str) -> str:
        return ENCRYPTED_PREFIX + self.primary.encrypt(plaintext.encode()).decode()

    def decrypt(self, stored: str) -> str:
        from cryptography.fernet import InvalidToken

        if not stored.startswith(ENCRYPTED_PREFIX):
            return stored  # written before keys were encrypted; re-encrypted at start
        try:
            return self.all.decrypt(stored[len(ENCRYPTED_PREFIX) :].encode()).decode()
        except InvalidToken as exc:
            raise StartupRefused(
                "a signing key in the database cannot be decrypted with CUSTODY_KEY_ENCRYPTION_KEY "
                "(was it changed without keeping the old secret after a comma?)"
            ) from exc

    def is_current(self, stored: str) -> bool:
        from cryptography.fernet import InvalidToken

        if not stored.startswith(ENCRYPTED_PREFIX):
            return False
        try:
            self.primary.decrypt(stored[len(ENCRYPTED_PREFIX) :].encode())
            return True
        except InvalidToken:
            return False


def key_encryption_secrets(settings: Settings) -> list[str]:
    return [part.strip() for part in (settings.key_encryption_key or "").split(",") if part.strip()]


def check_key_encryption(settings: Settings) -> None:
    """Production refuses to start without a key-encryption secret of its own."""
    if not settings.is_production:
        return
    secrets = key_encryption_secrets(settings)
    if not secrets or secrets[0] == DEV_KEY_ENCRYPTION_KEY or len(secrets[0]) < MIN_PRODUCTION_KEK:
        raise StartupRefused(
            "CUSTODY_KEY_ENCRYPTION_KEY is unset, the development default or shorter than "
            f"{MIN_PRODUCTION_KEK} characters; the signing keys must be encrypted at rest in production"
        )


def _generate() -> RSAKey:
    key = RSAKey.generate_key(KEY_BITS, parameters={"alg": ALGORITHM, "use": "sig"}, private=True)
    return _with_kid(key)


def _with_kid(key: RSAKey) -> RSAKey:
    data = key.as_dict(private=True)
    data.update({"kid": key.thumbprint(), "alg": ALGORITHM, "use": "sig"})
    return RSAKey.import_key(data)


def _kid(key: RSAKey) -> str:
    if key.kid is None:  # _with_kid gave every key of ours one
        raise RuntimeError("a signing key without a kid")
    return key.kid


class KeyStore:
    def __init__(self, db: Database, settings: Settings, clock: Clock, *, runtime: Any = None) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        # the gateway's Runtime (gateway/main.py): new and revoked keys are written on its units of work,
        # which announce them (key.rotated, key.revoked)
        self.runtime = runtime
        self.cipher = KeyCipher.from_settings(settings)
        self._keys: dict[str, RSAKey] = {}
        self._rows: list[dict[str, Any]] = []
        self._keyset: KeySet = KeySet([])
        self._jwks: dict[str, Any] = {"keys": []}

    # --- loading -------------------------------------------------------------------------
    async def start(self) -> None:
        await self._encrypt_at_rest()
        if self.settings.signing_key_file:
            await self._install_file_key()
        await self.load()
        if self.active is None:
            origin = "generated" if self.settings.is_production else "development"
            await self._add(await anyio.to_thread.run_sync(_generate), origin, delay=timedelta(0))
            await self.load()
        active_row = self._signing_row()
        if active_row is None:
            raise RuntimeError("no signing key after loading the key store")
        if self.settings.is_production and active_row["origin"] == "development":
            raise StartupRefused(
                "the signing key is a development key; set CUSTODY_SIGNING_KEY_FILE to a production key "
                "before running with CUSTODY_ENV=production"
            )

    async def _encrypt_at_rest(self) -> None:
        """(Re-)encrypt every stored private key with the current key-encryption secret."""
        async with self.db.transaction() as session:
            rows = (await session.execute(sa.select(SigningKey))).scalars().all()
            for row in rows:
                if not self.cipher.is_current(row.private_jwk):
                    row.private_jwk = self.cipher.encrypt(self.cipher.decrypt(row.private_jwk))

    async def _install_file_key(self) -> None:
        path = self.settings.signing_key_file
        if path is None:
            raise RuntimeError("no signing key file is configured")
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
                await self._retire_active(session, timedelta(0))
                session.add(
                    SigningKey(
                        kid=_kid(key),
                        private_jwk=self.cipher.encrypt(json.dumps(key.as_dict(private=True))),
                        origin="file",
                        created_at=self.clock.now(),
                    )
                )
            # a file key that was rotated away stays retired: the operator asked for a newer key

    async def load(self) -> None:
        horizon = self.clock.now() - timedelta(seconds=self.settings.access_token_ttl_seconds + LEEWAY_SECONDS)
        async with self.db.reader() as session:
            rows = (await session.execute(sa.select(SigningKey).order_by(col(SigningKey.created_at)))).scalars().all()
        live = [r for r in rows if r.revoked_at is None and (r.retired_at is None or as_utc(r.retired_at) > horizon)]
        keys: dict[str, RSAKey] = {}
        for row in live:
            keys[row.kid] = self._keys.get(row.kid) or RSAKey.import_key(
                json.loads(self.cipher.decrypt(row.private_jwk))
            )
        self._rows = [
            {"kid": r.kid, "origin": r.origin, "created_at": as_utc(r.created_at), "retired_at": as_utc(r.retired_at)}
            for r in live
        ]
        self._keys = keys
        self._keyset = KeySet(list(keys.values()))
        self._jwks = {"keys": [k.as_dict(private=False) for k in keys.values()]}

    def _unit_of_work(self) -> UnitOfWork:
        if self.runtime is None:
            raise RuntimeError("the key store needs the gateway's runtime to change keys")
        uow: UnitOfWork = self.runtime.unit_of_work(request_id=request_id_var.get())  # the admin's request, if any
        return uow

    async def _add(self, key: RSAKey, origin: str, *, delay: timedelta = ACTIVATION_DELAY) -> None:
        async with self._unit_of_work() as uow:
            session = uow.session
            await self._retire_active(session, delay)
            session.add(
                SigningKey(
                    kid=_kid(key),
                    private_jwk=self.cipher.encrypt(json.dumps(key.as_dict(private=True))),
                    origin=origin,
                    created_at=self.clock.now(),
                )
            )
            await session.flush()
            await events.key_rotated(uow, _kid(key))

    async def _retire_active(self, session: AsyncSession, delay: timedelta) -> None:
        """The signing key stops signing ``delay`` from now (the new key is published meanwhile)."""
        await session.execute(
            sa.update(SigningKey)
            .where(col(SigningKey.retired_at).is_(None))
            .values(retired_at=self.clock.now() + delay)
        )

    async def rotate(self) -> dict[str, Any]:
        key = await anyio.to_thread.run_sync(_generate)
        await self._add(key, "development" if self.settings.env == "development" else "generated")
        await self.load()
        signs_from = self.clock.now() + ACTIVATION_DELAY
        log.info("gateway.keys.rotated", kid=key.kid, signs_from=signs_from.isoformat())
        return {"kid": key.kid, "signs_from": signs_from.isoformat()}

    async def revoke(self, kid: str) -> None:
        """Take a retired key out of the JWKS at once (it may have leaked); services hear of it on
        the bus and drop it, with every token it signed. The signing key, and a new key waiting to
        sign, cannot be revoked: rotate first."""
        now = self.clock.now()
        async with self._unit_of_work() as uow:
            session = uow.session
            row = (
                await session.get(SigningKey, kid, with_for_update=True)
                if isinstance(kid, str) and len(kid) <= 64
                else None
            )
            if row is None or row.revoked_at is not None:
                raise NotFound(text("签名密钥不存在或已撤销", "No such signing key (or it was revoked already)"))
            if row.retired_at is None or as_utc(row.retired_at) > now:
                raise Conflict(
                    text("该密钥正在或即将用于签名，请先轮换", "This key signs now or will: rotate first"),
                    code=ErrorCode.KEY_IN_USE,
                )
            row.revoked_at = now
            await events.key_revoked(uow, kid)
        await self.load()
        log.warning("gateway.keys.revoked", kid=kid)

    # --- use -----------------------------------------------------------------------------
    def _signing_row(self) -> dict[str, Any] | None:
        now = self.clock.now()
        candidates = [r for r in self._rows if r["retired_at"] is None or r["retired_at"] > now]
        return min(candidates, key=lambda r: r["created_at"]) if candidates else None

    @property
    def active(self) -> RSAKey | None:
        """The key that signs now."""
        row = self._signing_row()
        return self._keys[row["kid"]] if row else None

    def jwks(self) -> dict[str, Any]:
        return self._jwks

    def describe(self) -> list[dict[str, Any]]:
        ttl = timedelta(seconds=self.settings.access_token_ttl_seconds + LEEWAY_SECONDS)
        signing = self._signing_row()
        return [
            {
                "kid": r["kid"],
                "origin": r["origin"],
                "signing": signing is not None and r["kid"] == signing["kid"],
                "created_at": r["created_at"].isoformat(),
                "retired_at": r["retired_at"].isoformat() if r["retired_at"] else None,
                "published_until": (r["retired_at"] + ttl).isoformat() if r["retired_at"] else None,
            }
            for r in self._rows
        ]

    @property
    def signing(self) -> RSAKey:
        """The key that signs now; there is always one once ``start`` has run."""
        key = self.active
        if key is None:
            raise RuntimeError("no signing key: KeyStore.start has not run")
        return key

    def summary(self) -> dict[str, Any]:
        """The signing key's id and every published key (the admin's view)."""
        return {"signing_kid": self.signing.kid, "keys": self.describe()}

    def sign(self, claims: dict[str, Any]) -> str:
        key = self.signing
        return jwt.encode({"alg": ALGORITHM, "kid": key.kid, "typ": "at+jwt"}, claims, key)

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

    @property
    def keyset(self) -> KeySet:
        return self._keyset

    @property
    def kids(self) -> set[str]:
        return set(self._keys)
