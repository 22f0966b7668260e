"""``custody import enterprises FILE`` (issue #18 item 1) against the enterprises service over real
HTTP, signed in as a district bureau (the token file ``custody login`` writes): a dry run reports
and writes nothing, the import writes, a rejected row makes the exit status 1 and is listed."""

from __future__ import annotations

import asyncio
import time

from typer.testing import CliRunner

from cli import auth
from cli import main as cli_main
from cli.main import app
from devtools.testing.apps import served
from devtools.testing.tokens import make_token
from tests.enterprises.factories import admin, csv_text, enterprise_body, make_app

runner = CliRunner()


async def test_the_cli_imports_a_ledger_with_a_dry_run_first(backend, tmp_path, monkeypatch):
    good = [enterprise_body(name=f"江门市蓬江区命令行{i}厂") for i in range(3)]
    bad = enterprise_body(name="电话有误企业", contact_phone="12345")
    ledger = tmp_path / "名录.csv"
    ledger.write_text(csv_text([*good, bad]), encoding="utf-8")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setattr(cli_main.console, "width", 300)
    service = make_app(backend.settings())
    async with served(service) as url:
        token = make_token("bureau", district="440703")
        auth.save({"access_token": token, "expires_at": time.time() + 600, "gateway": url, "client_id": "custody-cli"})

        dry = await asyncio.to_thread(runner.invoke, app, ["import", "enterprises", str(ledger), "--dry-run"])
        assert dry.exit_code == 1, dry.output  # one row is rejected
        assert "dry run" in dry.output and "contact_phone" in dry.output

        async def stored(uscc: str) -> int:
            import httpx

            async with httpx.AsyncClient(base_url=url) as client:
                return (await client.get(f"/api/v1/enterprises/by-uscc/{uscc}", headers=admin())).status_code

        assert await stored(good[0]["uscc"]) == 404  # the dry run wrote nothing

        real = await asyncio.to_thread(runner.invoke, app, ["import", "enterprises", str(ledger), "--lang", "en"])
        assert real.exit_code == 1, real.output
        assert "import report" in real.output and "rejected rows (1)" in real.output
        assert all([await stored(body["uscc"]) == 200 for body in good])

        ledger.write_text(csv_text(good), encoding="utf-8")
        again = await asyncio.to_thread(runner.invoke, app, ["import", "enterprises", str(ledger)])
        assert again.exit_code == 0, again.output  # nothing rejected: success


def test_only_csv_and_xlsx_are_sent(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    other = tmp_path / "ledger.pdf"
    other.write_bytes(b"%PDF-1.4")
    result = runner.invoke(app, ["import", "enterprises", str(other), "--gateway", "http://127.0.0.1:9"])
    assert result.exit_code != 0 and "only .csv and .xlsx" in result.output
