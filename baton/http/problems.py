"""Errors as JSON `{code, message}` with the right status, mapped in one place.

The router carries its own route class, so a FastAPI app that mounts `app.router()` gets
baton's error bodies for baton's endpoints without installing handlers on the whole app.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import BackendUnavailable, BatonError, JobNotFound, PayloadError, UnknownPipeline
from ..redact import redact

log = logging.getLogger("baton.http")

RETRY_AFTER_UNAVAILABLE = "5"  # seconds a client should wait when the store is down
# What a caller sees when the store is down: the driver's text may name hosts, paths or
# credentials, so it goes to the log (redacted), never into the response.
UNAVAILABLE_MESSAGE = "the job store is unavailable; retry later"


class Problem(BaseModel):
    """Every error the API returns."""

    code: str
    message: str
    field: str | None = None


STATUS_OF: dict[type[BatonError], int] = {
    JobNotFound: 404,
    UnknownPipeline: 404,
    PayloadError: 422,
    BackendUnavailable: 503,
}

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
    503: "unavailable",
}


def problem(
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = Problem(code=code, message=message, field=field).model_dump(exclude_none=True)
    return JSONResponse(body, status_code=status, headers=headers)


def from_validation(exc: RequestValidationError) -> JSONResponse:
    """422 naming the first offending field, e.g. `input.doc_id: Field required`."""
    errors = exc.errors()
    first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path", "header")]
    field = ".".join(loc) or None
    message = f"{field}: {first.get('msg')}" if field else str(first.get("msg"))
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more)"
    return problem(422, "invalid_request", message, field)


def from_baton(exc: BatonError) -> JSONResponse:
    if isinstance(exc, BackendUnavailable):
        log.warning("job store unavailable: %s", redact(str(exc)))
        retry = {"Retry-After": RETRY_AFTER_UNAVAILABLE}
        return problem(503, exc.code, UNAVAILABLE_MESSAGE, headers=retry)
    for cls, status in STATUS_OF.items():
        if isinstance(exc, cls):
            headers = {"Retry-After": RETRY_AFTER_UNAVAILABLE} if status == 503 else None
            return problem(status, exc.code, str(exc), getattr(exc, "field", None), headers)
    return problem(400, exc.code, str(exc))


def from_http(exc: StarletteHTTPException) -> JSONResponse:
    detail = exc.detail
    if isinstance(detail, dict) and "code" in detail:
        return problem(
            exc.status_code, detail["code"], detail.get("message", ""), headers=exc.headers
        )
    code = HTTP_CODES.get(exc.status_code, "error")
    return problem(exc.status_code, code, str(detail), headers=exc.headers)


class BatonRoute(APIRoute):
    """Turns validation errors, HTTP errors and baton errors into `Problem` bodies."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                return from_validation(exc)
            except StarletteHTTPException as exc:  # FastAPI raises Starlette's for bad bodies
                return from_http(exc)
            except BatonError as exc:
                return from_baton(exc)
            except Exception:  # a bug, not bad input: logged, and still a JSON answer
                log.exception("%s %s failed", request.method, request.url.path)
                return problem(500, "internal_error", "internal error; see the server log")

        return guarded


def fail(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> HTTPException:
    """An HTTPException that `BatonRoute` renders as a Problem with this code."""
    return HTTPException(status, {"code": code, "message": message}, headers=headers)
