"""A real OpenAI-compatible chat completions server on loopback, scripted per request.

It speaks HTTP/1.1 over a real socket (asyncio streams on its own thread), so the client
under test goes through httpx's whole stack: connection errors, a body cut short, a server
that never answers. Each request takes the next action from the script; an empty script
answers with a valid completion.

Actions: "ok", "429" (with Retry-After: `retry_after`), "500", "400", "401", "garbage"
(not JSON), "invalid" (JSON, but not the schema), "cut" (headers promise more body than is
sent, then the connection closes), "hang" (never answers).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

GOOD_ANSWER = {
    "document_type": "invoice",
    "parties": [{"name": "Globex Corporation", "role": "customer"}],
    "dates": ["2024-03-15"],
    "amounts": [{"value": 10.0, "currency": "USD", "label": "widgets"}],
    "total": {"value": 10.0, "currency": "USD", "label": "total"},
}


@dataclass
class Seen:
    at: float
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeLLM:
    retry_after: float = 1.0
    script: list[str] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    port: int = 0
    _loop: asyncio.AbstractEventLoop | None = None
    _server: asyncio.AbstractServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeLLM:
        ready = threading.Event()

        def main() -> None:
            self._loop = asyncio.new_event_loop()
            self._server = self._loop.run_until_complete(
                asyncio.start_server(self._handle, "127.0.0.1", 0)
            )
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            self._loop.run_forever()
            self._loop.close()

        self._thread = threading.Thread(target=main, daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is None or self._server is None:
            return

        async def shut() -> None:
            assert self._server is not None
            self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(shut(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def _next(self) -> str:
        with self._lock:
            return self.script.pop(0) if self.script else "ok"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    return
                path, headers, body = request
                self.seen.append(Seen(time.monotonic(), path, headers, body))
                if not await self._answer(self._next(), writer):
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _answer(self, action: str, writer: asyncio.StreamWriter) -> bool:
        """Write the scripted answer; False when the connection must close."""
        if action == "hang":
            await asyncio.sleep(3600)
            return False
        if action == "cut":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
            writer.write(b"Content-Length: 5000\r\n\r\n" + b'{"choices": [{"mess')
            await writer.drain()
            return False
        status, extra, payload = _response(action, self.retry_after)
        head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n{extra}"
        head += f"Content-Length: {len(payload)}\r\n\r\n"
        writer.write(head.encode() + payload)
        await writer.drain()
        return True


def _completion(content: str) -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "model": "fake",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": content},
                }
            ],
        }
    ).encode()


def _response(action: str, retry_after: float) -> tuple[str, str, bytes]:
    error = json.dumps({"error": {"message": action}}).encode()
    if action == "ok":
        return "200 OK", "", _completion(json.dumps(GOOD_ANSWER))
    if action == "429":
        return "429 Too Many Requests", f"Retry-After: {retry_after:g}\r\n", error
    if action == "500":
        return "500 Internal Server Error", "", error
    if action == "400":
        return "400 Bad Request", "", error
    if action == "401":
        return "401 Unauthorized", "", error
    if action == "garbage":
        return "200 OK", "", b"<html>upstream proxy error</html>"
    if action == "invalid":
        return "200 OK", "", _completion(json.dumps({"document_type": 7, "parties": "x"}))
    raise ValueError(f"unknown action {action!r}")


async def _read_request(
    reader: asyncio.StreamReader,
) -> tuple[str, dict[str, str], Any] | None:
    line = await reader.readline()
    if not line:
        return None
    path = line.decode().split(" ")[1]
    headers: dict[str, str] = {}
    while (header := await reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = header.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return path, headers, json.loads(body) if body else None
