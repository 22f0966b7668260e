"""The real platform for end-to-end tests: gateway + four services as processes on one backend."""

from __future__ import annotations

import pytest

from shared.testing.platform import Platform


@pytest.fixture
async def platform(backend, tmp_path):
    running = Platform(backend.settings(), tmp_path / "logs")
    try:
        await running.start()
    except Exception:
        await running.stop()
        for log in sorted((tmp_path / "logs").glob("*.log")):
            print(f"--- {log.name}\n{log.read_text()[-3000:]}")
        raise
    yield running
    await running.stop()
