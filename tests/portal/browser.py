"""Helpers for the portal's browser tests: Debian's Chromium driven by Playwright (``executable_path``:
a tool's own browser download does not work here), axe-core from the npm registry (``package.json``
at the project root, ``npm install``) run on every page, and screenshots named
``<page>-<lang>-<device>.png``.

Screenshots go to docs/screenshots/ when ``CUSTODY_UPDATE_SCREENSHOTS=1`` (so that a test run does
not dirty the working tree), else to a temporary directory."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"
SCREENSHOTS = (
    DOCS_SCREENSHOTS
    if os.environ.get("CUSTODY_UPDATE_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "custody-portal-screenshots"
)
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DEVICES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
BLOCKING = ("serious", "critical")


def chromium_path() -> str:
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.fail("Debian's chromium is not installed: apt-get install -y chromium (`make browsers` does it)")
    return executable


def axe_source() -> str:
    if not AXE.is_file():
        pytest.fail("axe-core is not installed: run `npm install` at the project root (`make test` does it)")
    return AXE.read_text(encoding="utf-8")


@dataclass
class Browsing:
    """One person in one browser context: language, device, their page; ``shot`` checks the page
    with axe-core and takes its screenshot."""

    page: Any
    context: Any
    base_url: str
    lang: str
    device: str
    visited: list[tuple[str, str]] = field(default_factory=list)

    async def goto(self, path: str) -> None:
        await self.page.goto(path)

    async def shot(self, name: str) -> None:
        """Axe-core on the page (no serious or critical violation), then a full-page screenshot."""
        await self.page.wait_for_load_state("load")
        if not await self.page.evaluate("typeof window.axe !== 'undefined'"):
            await self.page.evaluate(axe_source())
        result = await self.page.evaluate(
            "axe.run(document, {resultTypes: ['violations'], runOnly: {type: 'tag', "
            "values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})"
        )
        bad = [v for v in result["violations"] if v.get("impact") in BLOCKING]
        details = [
            f"{v['id']} ({v['impact']}): {v['help']} — " + "; ".join(", ".join(n["target"]) for n in v["nodes"][:5])
            for v in bad
        ]
        assert not bad, f"axe-core on {name} ({self.page.url}): " + " | ".join(details)
        if self.device == "phone":
            width = await self.page.evaluate("document.documentElement.scrollWidth")
            assert width <= DEVICES["phone"]["width"] + 10, f"{name} scrolls sideways on a phone ({width}px)"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        # a long page (/asyncapi) on a loaded machine has taken more than the default 20 s
        await self.page.screenshot(
            path=str(SCREENSHOTS / f"{name}-{self.lang}-{self.device}.png"), full_page=True, timeout=60_000
        )
        self.visited.append((name, self.page.url))

    async def login(self, username: str, password: str) -> None:
        await self.page.goto("/portal/login")
        await self.page.wait_for_url(re.compile(r".*/oauth/authorize.*"))
        await self.page.fill("input[name=username]", username)
        await self.page.fill("input[name=password]", password)
        await self.page.click("button[type=submit]")
        await self.page.wait_for_url(lambda url: "/oauth/" not in url and "/portal" in url)

    async def logout(self) -> None:
        await self.page.click("#logout")
        await self.page.wait_for_url(re.compile(r".*/\?ok=logged_out$"))

    async def submit_until(self, button: str, done: str, *, patience: float = 40.0) -> None:
        """Click ``button`` until the page shows ``done`` (a selector): other services learn of a
        change from events, so a step that depends on another service may be refused (the page says
        why, keeping the input) for a moment."""
        deadline = asyncio.get_running_loop().time() + patience
        while True:
            await self.page.click(button)
            await self.page.wait_for_load_state("load")
            if await self.page.locator(done).count():
                return
            problem = ""
            if await self.page.locator("#form-errors, #message").count():
                problem = await self.page.locator("#form-errors, #message").first.inner_text()
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{button} did not lead to {done} on {self.page.url}: {problem}")
            await asyncio.sleep(1.0)
            if not await self.page.locator(button).count():
                await self.page.go_back()


async def open_browsing(browser: Any, base_url: str, *, lang: str, device: str) -> Browsing:
    context = await browser.new_context(
        base_url=base_url,
        locale="en-US" if lang == "en" else "zh-CN",
        viewport=DEVICES[device],
        is_mobile=device == "phone",
        has_touch=device == "phone",
    )
    page = await context.new_page()
    page.set_default_timeout(20_000)
    await page.goto(f"/?lang={lang}")
    return Browsing(page=page, context=context, base_url=base_url, lang=lang, device=device)
