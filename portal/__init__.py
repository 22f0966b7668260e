"""The work portal (SPEC §12, §21): every person of every role does their job from a page, in zh-CN
first and English, on a phone. Its own process (``portal.main:create_app``), a client of the public
API through the gateway with the person's own token (docs/DECISIONS.md D22, docs/PORTAL.md)."""
