"""A real uvicorn server on a loopback port in the test's own event loop, and a small
Server-Sent Events reader for httpx streams."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn


@contextlib.asynccontextmanager
async def serving(asgi: Any, port: int = 0) -> AsyncIterator[str]:
    """Serve `asgi` on 127.0.0.1 (a free port unless given); yield its base URL."""
    config = uvicorn.Config(
        asgi,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ws="none",
        lifespan="on",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("uvicorn stopped before it started")
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class SSE:
    id: str | None = None
    event: str | None = None
    data: Any = None
    comments: list[str] = field(default_factory=list)


async def read_sse(response: httpx.Response) -> AsyncIterator[SSE]:
    """Parse the stream per the WHATWG rules we rely on: fields until a blank line."""
    current = SSE()
    data_lines: list[str] = []
    async for line in response.aiter_lines():
        if line == "":
            if data_lines or current.event or current.id or current.comments:
                current.data = json.loads("\n".join(data_lines)) if data_lines else None
                yield current
            current, data_lines = SSE(), []
            continue
        if line.startswith(":"):
            current.comments.append(line[1:].strip())
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            data_lines.append(value)
        elif name == "id":
            current.id = value
        elif name == "event":
            current.event = value
