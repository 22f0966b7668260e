"""Child processes the platform, its tests and its benchmarks start: stopping one politely (then
for sure), and waiting until a server answers its readiness URL."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx


def stop_process(process: subprocess.Popen[bytes] | None, *, timeout: float = 10.0, kill: bool = False) -> None:
    """SIGTERM (or SIGKILL), wait ``timeout`` seconds, then SIGKILL whatever is left."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def wait_until_ready(
    url: str,
    *,
    timeout: float,
    alive: Callable[[], bool],
    what: str,
    log_file: Path | None = None,
    interval: float = 0.1,
    service: str | None = None,
) -> float:
    """Poll ``url`` until it answers 200; fail at once if the process died. Returns seconds taken.

    With ``service``, the answer must also name that service: a port taken by someone else's
    server (another test worker's platform) must not pass for ours while ours is still starting."""
    started = time.monotonic()
    with httpx.Client(timeout=2.0) as client:
        while True:
            if not alive():
                tail = log_file.read_text(errors="replace")[-3000:] if log_file and log_file.exists() else ""
                raise RuntimeError(f"{what} exited; see {log_file}\n{tail}")
            try:
                answer = client.get(url)
                if answer.status_code == 200 and (service is None or _names(answer, service)):
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"{what} not ready after {timeout}s")
            time.sleep(interval)


def _names(answer: httpx.Response, service: str) -> bool:
    try:
        body = answer.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("service") == service
