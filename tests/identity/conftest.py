"""The gateway fixtures (tests/gateway/conftest.py) for the identity tests."""

from tests.gateway.conftest import gateway, sqlite_gateway  # noqa: F401
