from __future__ import annotations

import pytest

from tests.faults.fakes import Faults


@pytest.fixture(autouse=True)
def _reset_faults():
    Faults.reset()
    yield
    Faults.reset()
