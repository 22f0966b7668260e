"""The real platform for end-to-end tests: gateway + four services as processes on one backend."""

from __future__ import annotations

import pytest

from devtools.testing.platform import started_platform


@pytest.fixture
async def platform(backend, tmp_path):
    async with started_platform(backend.settings(), tmp_path / "logs") as running:
        yield running
