"""The ``custody`` commands against the real platform: demo (the full Jiangmen data set, then a
second run that finds it there), login (PKCE on a loopback port, the browser played by httpx) and
token (refresh with rotation), events tail, dlq list, sweep."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import date
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from cli import auth
from cli.demo import DEMO_PASSWORD, Seeder, uscc_for
from cli.main import app
from cli.ops import tail
from devtools.testing.platform import ADMIN_ID, ADMIN_SECRET, Platform

runner = CliRunner()


def _admin_args(platform: Platform) -> list[str]:
    return ["--gateway", platform.url, "--admin-id", ADMIN_ID, "--admin-secret", ADMIN_SECRET]


async def test_demo_seeds_the_full_data_set_and_prints_the_way_in(platform: Platform) -> None:
    result = await asyncio.to_thread(runner.invoke, app, ["demo", *_admin_args(platform), "--tag", "-full"])
    assert result.exit_code == 0, result.output
    assert f"{platform.url}/" in result.output and "jm-bureau-full" in result.output and DEMO_PASSWORD in result.output
    assert "6 agencies" in result.output and "10 enterprises" in result.output
    async with httpx.AsyncClient(base_url=platform.url) as client:
        names = [
            a["name"] for a in (await client.get("/api/v1/directory/agencies", params={"q": "-full"})).json()["items"]
        ]
    assert len(names) == 5  # one of six is left waiting for review
    again = await asyncio.to_thread(runner.invoke, app, ["demo", *_admin_args(platform), "--tag", "-full"])
    assert again.exit_code == 0 and "already there" in again.output


async def test_demo_reports_an_unreachable_gateway() -> None:
    result = await asyncio.to_thread(runner.invoke, app, ["demo", "--gateway", "http://127.0.0.1:9", "--small"])
    assert result.exit_code == 1 and "make run" in result.output


def _play_browser(authorize_url: str, username: str, password: str) -> int:
    """What a person does in the browser: open the login page, sign in, follow the redirect."""
    with httpx.Client(timeout=10.0) as browser:
        page = browser.get(authorize_url)
        assert page.status_code == 200, page.text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        done = browser.post(authorize_url, data={"csrf": csrf, "username": username, "password": password})
        assert done.status_code in (302, 303), done.text
        return browser.get(done.headers["location"]).status_code


async def test_login_with_pkce_on_loopback_then_token_refreshes(
    platform: Platform, demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    flow = auth.LoopbackLogin(platform.url)
    assert flow.redirect_uri.startswith("http://127.0.0.1:") and "code_challenge_method=S256" in flow.authorize_url
    waiting = asyncio.create_task(asyncio.to_thread(flow.wait, 20.0))
    assert await asyncio.to_thread(_play_browser, flow.authorize_url, demo.bureau_username, DEMO_PASSWORD) == 200
    tokens = await waiting
    path = auth.save(tokens)
    assert path == tmp_path / "custody" / "token.json" and oct(path.stat().st_mode & 0o777) == "0o600"

    first = await asyncio.to_thread(auth.valid_access_token)
    assert first == tokens["access_token"]
    stored = json.loads(path.read_text())
    stored["expires_at"] = 0  # as if 15 minutes had passed
    path.write_text(json.dumps(stored))
    result = await asyncio.to_thread(runner.invoke, app, ["token"])
    assert result.exit_code == 0, result.output
    fresh = result.output.strip()
    assert fresh and fresh != first
    assert json.loads(path.read_text())["refresh_token"] != tokens["refresh_token"]  # rotated
    async with httpx.AsyncClient(base_url=platform.url) as client:
        r = await client.get("/api/v1/contracts", headers={"Authorization": f"Bearer {fresh}"})
    assert r.status_code == 200


async def test_token_without_login_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    result = await asyncio.to_thread(runner.invoke, app, ["token"])
    assert result.exit_code == 1 and "custody login" in result.output


async def test_events_tail_prints_the_envelopes(platform: Platform, demo, capsys: pytest.CaptureFixture) -> None:
    prefix = platform.settings.subject_prefix
    readiness = [asyncio.Event(), asyncio.Event()]
    watchers = [
        asyncio.create_task(tail(platform.settings.nats_servers, f"{prefix}.{kind}", count=1, ready=ready, raw=True))
        for kind, ready in zip(("agency.submitted", "agency.approved"), readiness, strict=False)
    ]
    for ready in readiness:
        await asyncio.wait_for(ready.wait(), 10)
    async with httpx.AsyncClient(base_url=platform.url, timeout=20.0) as client:
        seeder = Seeder(client, admin_id=ADMIN_ID, admin_secret=ADMIN_SECRET)
        bureau, _ = await seeder.account(demo.bureau_username, "bureau", district="440700")
        agency = await seeder.new_agency(
            "江门市事件测试安全服务有限公司",
            "440703",
            ["440703"],
            ["machinery"],
            ["赵工", "钱工"],
            uscc=uscc_for("tail", 1, "440703"),
            approve_with=bureau,
        )
    submitted, approved = [(await asyncio.wait_for(w, 30))[0] for w in watchers]
    assert (submitted["type"], approved["type"]) == ("agency.submitted", "agency.approved")
    assert all(e["subject"] == agency["id"] and e["specversion"] == "1.0" for e in (submitted, approved))
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert {e["type"] for e in printed} >= {"agency.submitted", "agency.approved"}


async def test_sweep_and_dead_letters(platform: Platform) -> None:
    result = await asyncio.to_thread(
        runner.invoke,
        app,
        ["sweep", "--service", "contracts", "--as-of", date.today().isoformat(), *_admin_args(platform)],
    )
    assert result.exit_code == 0, result.output
    assert "contracts" in result.output
    result = await asyncio.to_thread(runner.invoke, app, ["sweep", "--as-of", "not-a-date", *_admin_args(platform)])
    assert result.exit_code == 1 and "ISO date" in result.output
    result = await asyncio.to_thread(runner.invoke, app, ["dlq", "list", "--service", "audit", *_admin_args(platform)])
    assert result.exit_code == 0, result.output
    assert "dead letters · audit · 0" in result.output
    result = await asyncio.to_thread(
        runner.invoke,
        app,
        ["dlq", "replay", "00000000-0000-0000-0000-000000000000", "--service", "audit", *_admin_args(platform)],
    )
    assert result.exit_code == 1 and "404" in result.output


def test_envelope_lines_are_readable() -> None:
    from cli.ops import format_envelope

    line = format_envelope(
        {
            "type": "contract.filed",
            "source": "/contracts",
            "subject": "c-1",
            "time": "2026-11-28T08:00:00Z",
            "data": {"id": "c-1", "version": 4, "status": "filed", "filing_no": "JM-HT-2026-0001"},
        }
    )
    assert "contract.filed" in line and "v4" in line and "filing_no=JM-HT-2026-0001" in line and "status=filed" in line
