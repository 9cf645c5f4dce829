"""A webhook receiver on loopback whose answers a test scripts: each POST takes the next
planned answer (status and headers), the last one repeats; every request is recorded."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    answered: int
    at: float

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    plan: list[tuple[int, dict[str, str]]] = field(default_factory=lambda: [(200, {})])
    received: list[Received] = field(default_factory=list)

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            body = await request.body()  # first: a sender that died mid-request takes nothing
            status, headers = self.plan.pop(0) if len(self.plan) > 1 else self.plan[0]
            self.received.append(Received(dict(request.headers), body, status, time.monotonic()))
            return Response(b"ok" if status < 300 else b"no", status_code=status, headers=headers)

        return Starlette(routes=[Route("/hook", hook, methods=["POST"])])

    def delivered(self) -> list[Received]:
        return [r for r in self.received if r.answered < 300]
