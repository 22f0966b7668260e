"""Running apps in tests: the lifespan of an ASGI app around an ``httpx.AsyncClient``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI


@asynccontextmanager
async def running(app: FastAPI, *, wait_for_bus: bool = True) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        if wait_for_bus:
            await app.state.runtime.bus.wait_ready(15)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


@asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """The app served over real HTTP by uvicorn in this process (for clients that open their own
    connections, such as the CLI); yields its base URL once the app and its bus are ready."""
    import asyncio

    import uvicorn

    from devtools.natsserver import free_port

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if serving.done():
                await serving  # it failed to start: say why
            await asyncio.sleep(0.05)
        await app.state.runtime.bus.wait_ready(15)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving
