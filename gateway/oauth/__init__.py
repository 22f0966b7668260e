"""The OAuth2 authorization server (Authlib adapted to Starlette), its grants and signing keys."""
