"""``custody inbox`` and ``custody webhooks list|add|rm`` against notify served over real HTTP,
with the token file ``custody login`` would have written."""

from __future__ import annotations

import asyncio
import time

import httpx
import uvicorn
from typer.testing import CliRunner

from cli import auth
from cli import main as cli_main
from cli.main import app
from devtools.natsserver import free_port
from devtools.testing.events import publish_event
from devtools.testing.tokens import make_token
from tests.notify.helpers import notify_app, seeded, wait_for_item
from tests.notify.world import World

runner = CliRunner()


async def test_inbox_and_webhooks_commands(env, tmp_path, monkeypatch):
    settings = env.settings()
    world = World()
    port = free_port()
    app_ = notify_app(settings)
    server = uvicorn.Server(uvicorn.Config(app_, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    serving = asyncio.create_task(server.serve())
    url = f"http://127.0.0.1:{port}"
    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no event for it
            await asyncio.sleep(0.05)
        await app_.state.runtime.bus.wait_ready(15)
        monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
        monkeypatch.setattr(cli_main.console, "width", 400)  # rich folds table cells to the terminal width
        b703 = world["B703"]
        token = make_token("bureau", sub=b703.id, district="440703")
        auth.save({"access_token": token, "expires_at": time.time() + 600, "gateway": url, "client_id": "custody-cli"})

        async with httpx.AsyncClient(base_url=url) as client:
            await seeded(settings, client, world)
            await publish_event(settings, "hazard.reported", world.hazard(level="major"))
            await wait_for_item(client, b703, "hazard.reported")

        shown = await asyncio.to_thread(runner.invoke, app, ["inbox"])
        assert shown.exit_code == 0, shown.output
        assert "发现重大隐患" in shown.output
        assert "urgent 1" in shown.output
        english = await asyncio.to_thread(runner.invoke, app, ["inbox", "--lang", "en", "--mark-read"])
        assert "Major hazard found" in english.output
        after = await asyncio.to_thread(runner.invoke, app, ["inbox"])
        assert "unread 0" in after.output

        added = await asyncio.to_thread(
            runner.invoke, app, ["webhooks", "add", "http://127.0.0.1:9/hook", "-e", "hazard.reported"]
        )
        assert added.exit_code == 0, added.output
        assert "whsec_" in added.output
        listed = await asyncio.to_thread(runner.invoke, app, ["webhooks", "list"])
        assert "http://127.0.0.1:9/hook" in listed.output
        assert "hazard.reported" in listed.output
        subscription_id = added.output.split("subscribed")[1].split()[0]
        bad = await asyncio.to_thread(runner.invoke, app, ["webhooks", "add", "http://x/y", "-e", "no.such"])
        assert bad.exit_code == 1
        assert "422" in bad.output
        removed = await asyncio.to_thread(runner.invoke, app, ["webhooks", "rm", subscription_id])
        assert removed.exit_code == 0, removed.output
        listed = await asyncio.to_thread(runner.invoke, app, ["webhooks", "list"])
        assert "webhooks · 0" in listed.output
    finally:
        server.should_exit = True
        await serving
