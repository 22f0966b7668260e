"""The revocation set every process keeps (shared.revocations) and its feed from the real bus:
cut-offs per subject and client, revoked jtis, an ephemeral consumer per process that replays the
last 15 minutes on start, and the verifier refusing a revoked token even when it has cached it."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from devtools.testing.events import publish_event
from devtools.testing.tokens import make_token, verifier
from devtools.testing.wait import eventually
from shared.errors import Unauthorized
from shared.events.bus import Bus
from shared.revocations import REPLAY_SECONDS, RevocationFeed, Revocations


def test_cut_offs_and_jtis():
    now = [1_000_000.0]
    r = Revocations(now=lambda: now[0])
    r.add(subjects=["acct-1"], clients=["cl-1"], not_before=1_000_001)
    assert r.is_revoked(subject="acct-1", client_id=None, jti=None, iat=1_000_000)  # issued before
    assert not r.is_revoked(subject="acct-1", client_id=None, jti=None, iat=1_000_001)  # issued after
    assert r.is_revoked(subject="other", client_id="cl-1", jti=None, iat=999_000)
    assert not r.is_revoked(subject="other", client_id="cl-2", jti="j", iat=999_000)
    r.add(jtis=["j"], until=1_000_100)
    assert r.is_revoked(subject="x", client_id=None, jti="j", iat=2_000_000)
    r.add(subjects=["acct-1"], not_before=999_000)  # an older cut-off never loosens a newer one
    assert r.is_revoked(subject="acct-1", client_id=None, jti=None, iat=1_000_000)
    now[0] += REPLAY_SECONDS + 2  # every token those entries concern has expired: forgotten
    r.purge()
    assert not r.subjects and not r.clients and not r.jtis
    r.apply({"subjects": [["nested"], 7, "ok"], "clients": "not-a-list", "jtis": None, "not_before": "soon"})
    assert set(r.subjects) == {"ok"} and not r.clients


async def _feed(settings, revocations: Revocations, **kw) -> tuple[Bus, RevocationFeed]:
    bus = Bus(settings, name=f"feed-{uuid.uuid4().hex[:6]}")
    bus.start()
    await bus.wait_ready(10)
    feed = RevocationFeed(bus, revocations, **kw)
    feed.start()
    return bus, feed


async def _stream(settings) -> None:
    """The stream exists once any process of the platform has started; make sure it does."""
    bus = Bus(settings, name="stream")
    bus.start()
    await bus.wait_ready(10)
    await bus.close()


async def _revoke(settings, **data) -> None:
    await publish_event(
        settings,
        "token.revoked",
        {"id": str(uuid.uuid4()), "version": 1, "reason": "test", "not_before": time.time() + 1, **data},
    )


async def test_every_process_sees_every_revocation_and_a_restart_replays_them(backend):
    settings = backend.settings()
    await _stream(settings)
    await _revoke(settings, subjects=["before-start"])  # published while no feed runs
    first, second = Revocations(), Revocations()
    bus1, feed1 = await _feed(settings, first)
    bus2, feed2 = await _feed(settings, second)
    try:
        assert await feed1.wait_synced(10) and await feed2.wait_synced(10)
        assert "before-start" in first.subjects and "before-start" in second.subjects  # replayed on start
        await _revoke(settings, subjects=["live"], clients=["cl-live"])
        await eventually(lambda: "live" in first.subjects and "live" in second.subjects, timeout=5)
        assert "cl-live" in first.clients and "cl-live" in second.clients  # not a work queue: both replicas
    finally:
        for feed, bus in ((feed1, bus1), (feed2, bus2)):
            await feed.stop()
            await bus.close()
    # a process started afterwards (a restart) knows both
    third = Revocations()
    bus3, feed3 = await _feed(settings, third)
    try:
        assert await feed3.wait_synced(10)
        assert {"before-start", "live"} <= set(third.subjects)
    finally:
        await feed3.stop()
        await bus3.close()


async def test_the_replay_window_is_the_longest_token_lifetime(sqlite_backend):
    settings = sqlite_backend.settings()
    await _stream(settings)
    await _revoke(settings, subjects=["old"])
    await asyncio.sleep(1.5)
    await _revoke(settings, subjects=["recent"])
    revocations = Revocations()
    bus, feed = await _feed(settings, revocations, replay_seconds=1.0)
    try:
        assert await feed.wait_synced(10)
        assert "recent" in revocations.subjects and "old" not in revocations.subjects
    finally:
        await feed.stop()
        await bus.close()
    assert REPLAY_SECONDS >= 900  # at least the 15-minute cap on access tokens (SPEC §6)


async def test_the_verifier_refuses_a_cached_token_once_it_is_revoked_on_the_bus(sqlite_backend):
    settings = sqlite_backend.settings()
    v = verifier()
    bus = Bus(settings, name="verifier-test")
    bus.start()
    await bus.wait_ready(10)
    await v.start(bus)
    try:
        sub = str(uuid.uuid4())
        token = make_token("enterprise", sub=sub, org_uscc="91440703MA00000018")
        assert (await v.verify(token)).subject == sub  # now cached
        other = make_token("enterprise", sub=str(uuid.uuid4()), org_uscc="91440703MA00000018")
        await _revoke(settings, subjects=[sub])

        async def refused():
            try:
                await v.verify(token)
            except Unauthorized as exc:
                return exc.code == "token_revoked"
            return False

        await eventually(refused, timeout=5)
        assert (await v.verify(other)).role == "enterprise"  # others are untouched
        jti_token = make_token("bureau", district="440703")
        await v.verify(jti_token)
        from tests.gateway.test_oauth import claims_of

        await _revoke(settings, jtis=[claims_of(jti_token)["jti"]], until=time.time() + 600)
        await eventually(lambda: claims_of(jti_token)["jti"] in v.revocations.jtis, timeout=5)
        with pytest.raises(Unauthorized):
            await v.verify(jti_token)
    finally:
        await v.stop()
        await bus.close()


async def test_a_key_event_makes_the_verifier_refetch_the_jwks(sqlite_backend):
    settings = sqlite_backend.settings()
    refetched = asyncio.Event()

    class Watching(type(verifier())):
        async def refresh_now(self) -> None:
            refetched.set()

    v = Watching(
        issuer="http://127.0.0.1:8000",
        audience="custody-api",
        jwks_url="http://127.0.0.1:9/jwks.json",
        refresh_seconds=0,
    )
    bus = Bus(settings, name="key-event-test")
    bus.start()
    await bus.wait_ready(10)
    await v.start(bus)
    try:
        await publish_event(settings, "key.revoked", {"id": "kid-1", "version": 1, "kid": "kid-1"})
        await asyncio.wait_for(refetched.wait(), 5)
    finally:
        await v.stop()
        await bus.close()
