"""W5's loopback fake servers: a mailbox search API, a PDF store and an LLM, with latency.

One asyncio HTTP/1.1 server on 127.0.0.1 (a free port) in a thread of the orchestrator;
each response waits its own latency, drawn from a generator seeded by the request path,
so the sequential "before" and the baton "after" wait for exactly the same calls:

    GET  /search/{i}   ~300 ms (270-330)   -> JSON list of document ids
    GET  /pdf/{d}      0.5-1.5 s           -> 64 KiB of bytes
    POST /llm/{k}      1-3 s               -> JSON {"label": ...}

`fetch` is the matching minimal client (one connection per call, `Connection: close`):
an HTTP library would add its own set-up cost to every step, which is not what W5 measures.
"""

from __future__ import annotations

import asyncio
import functools
import json
import random
import threading
from collections.abc import Callable

SEARCHES = 13
DOCUMENTS = 40
PDF_BYTES = 64 * 1024


def latency(path: str) -> float:
    kind, _, ident = path.strip("/").partition("/")
    rng = random.Random(f"{kind}:{ident}")
    if kind == "search":
        return rng.uniform(0.27, 0.33)
    if kind == "pdf":
        return rng.uniform(0.5, 1.5)
    if kind == "llm":
        return rng.uniform(1.0, 3.0)
    return 0.0


def body_for(path: str) -> bytes:
    kind, _, ident = path.strip("/").partition("/")
    if kind == "search":
        i = int(ident)
        return json.dumps([d for d in range(DOCUMENTS) if d % SEARCHES == i]).encode()
    if kind == "pdf":
        return (f"%PDF-1.4 document {ident} ".encode() * (PDF_BYTES // 16 + 1))[:PDF_BYTES]
    if kind == "llm":
        return json.dumps({"label": f"invoice-{ident}"}).encode()
    return b"not found"


async def _handle(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, scale: float = 1.0
) -> None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        _method, path, _ = head.split(b"\r\n", 1)[0].decode().split(" ", 2)
        length = 0
        for line in head.decode().split("\r\n")[1:]:
            if line.lower().startswith("content-length:"):
                length = int(line.split(":", 1)[1])
        if length:
            await reader.readexactly(length)
        await asyncio.sleep(latency(path) * scale)
        body = body_for(path)
        status = "200 OK" if not body.startswith(b"not found") else "404 Not Found"
        writer.write(
            f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n".encode()
            + body
        )
        await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, ValueError):
        pass
    finally:
        writer.close()


class FakeServers:
    """Context manager: the server runs in a daemon thread; `port` is where it listens.
    `scale` multiplies every latency (the smoke test uses a small one)."""

    def __init__(self, scale: float = 1.0) -> None:
        self.port = 0
        self.scale = scale
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._stop: Callable[[], None] | None = None
        self._thread = threading.Thread(target=self._run, name="w5-fakes", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def main() -> None:
            server = await asyncio.start_server(
                functools.partial(_handle, scale=self.scale), "127.0.0.1", 0, backlog=256
            )
            self.port = server.sockets[0].getsockname()[1]
            done = asyncio.Event()
            self._stop = lambda: self._loop.call_soon_threadsafe(done.set)
            self._started.set()
            async with server:
                await done.wait()

        self._loop.run_until_complete(main())
        self._loop.close()

    def __enter__(self) -> FakeServers:
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError("W5 fake servers did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stop:
            self._stop()
        self._thread.join(10)


async def fetch(port: int, path: str, method: str = "GET", body: bytes = b"") -> bytes:
    """One request to the fake servers; returns the body, raises on a non-200 answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            f"{method} {path} HTTP/1.1\r\nHost: fakes\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        data = await reader.read()
    finally:
        writer.close()
    head, _, payload = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"fake server: {head[:60]!r} for {path}")
    return payload
