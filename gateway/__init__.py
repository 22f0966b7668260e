"""The gateway: OAuth2 authorization server, accounts, reverse proxy and merged OpenAPI."""
