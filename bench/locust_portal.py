"""Locust users of the work portal (``bench/portal_load.py`` runs this file): each signs in through
the gateway's OAuth login form as a seeded person (bureau, agency or enterprise) and then goes about
their pages with a think time. ``PORTAL_BENCH_ACCOUNTS`` (JSON ``[[username, role], ...]``) and
``PORTAL_BENCH_SAMPLES`` (where to write every page's time) come from the runner."""

from __future__ import annotations

import itertools
import json
import os
import re
import time

from locust import HttpUser, between, events, task

ACCOUNTS = json.loads(os.environ.get("PORTAL_BENCH_ACCOUNTS", "[]"))
PASSWORD = os.environ.get("PORTAL_BENCH_PASSWORD", "")
SAMPLES: list[tuple[str, float, int, float]] = []
_next = itertools.count()
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
LINK = re.compile(r'href="(/portal/(?:contracts|complaints|hazards|visits|agencies)/[0-9a-f-]{36})"')
PAGES = {
    "bureau": [
        "/portal/dashboard",
        "/portal/contracts",
        "/portal/complaints",
        "/portal/agencies?status=submitted",
        "/portal/hazards",
        "/portal/enterprises",
        "/",
    ],
    "agency": ["/portal/agency", "/portal/contracts", "/portal/visits", "/portal/hazards", "/portal/complaints", "/"],
    "enterprise": ["/portal/enterprise", "/portal/contracts", "/portal/visits", "/portal/hazards", "/"],
}


@events.request.add_listener
def _sample(request_type, name, response_time, response_length, exception=None, **_kw) -> None:
    SAMPLES.append((name, float(response_time), 0 if exception is None else 1, time.time()))


@events.quitting.add_listener
def _dump(environment, **_kw) -> None:
    path = os.environ.get("PORTAL_BENCH_SAMPLES")
    if path:
        with open(path, "w", encoding="utf-8") as out:
            json.dump(SAMPLES, out)


class PortalUser(HttpUser):
    wait_time = between(1, 3)  # a person reads a page before the next

    def on_start(self) -> None:
        self.username, self.role = ACCOUNTS[next(_next) % len(ACCOUNTS)]
        self.pages = PAGES[self.role]
        self.links: list[str] = []
        form = self.client.get("/portal/login", name="login: form")
        token = CSRF.search(form.text)
        assert token, "no login form"
        done = self.client.post(
            form.url,
            data={"csrf": token.group(1), "username": self.username, "password": PASSWORD},
            name="login: submit",
        )
        assert "/portal" in done.url and done.status_code == 200, (
            f"login failed for {self.username}: {done.status_code}"
        )

    def _page(self, path: str, name: str) -> None:
        with self.client.get(path, name=name, catch_response=True) as response:
            if response.status_code != 200 or "/oauth/authorize" in response.url:
                response.failure(f"{response.status_code} {response.url}")
                return
            found = LINK.findall(response.text)
            if found:
                self.links = found[:20]

    @task(5)
    def a_list_or_home(self) -> None:
        path = self.pages[next(_next) % len(self.pages)]
        self._page(path, path.split("?")[0])

    @task(2)
    def a_record(self) -> None:
        if self.links:
            path = self.links[next(_next) % len(self.links)]
            self._page(path, "/portal/" + path.split("/")[2] + "/{id}")
