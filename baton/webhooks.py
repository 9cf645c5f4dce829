"""Completion webhooks: a signed POST to a job's `callback_url` when it ends.

The outbox is the queue itself. Every backend inserts a `baton.callback` delivery job in
the same transaction that ends a job with a callback URL (`baton.backends.callbacks`), so a
delivery survives any restart, is retried by the ordinary step retry machinery (429 and
5xx with backoff, `Retry-After` honoured, long waits rescheduled instead of holding a
slot), and ends visibly `failed` when it never gets through. This module is the task that
runs those jobs, and the signing and address checks around it.

What a receiver sees:

    POST <callback_url>
    Content-Type: application/json
    Baton-Delivery: <delivery id, the same on every retry of this delivery>
    Baton-Event: job.succeeded
    Baton-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">

    {"id": <delivery id>, "type": "job.succeeded", "at": ..., "job": {...}}

`verify_signature` is the receiver's side of it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from . import codec
from .backends.callbacks import CALLBACK_PIPELINE, delivery_id
from .errors import JobNotFound, PayloadError, Permanent
from .job import Job, brief_error
from .models import TERMINAL_EVENTS, Status
from .retry import Retry

if TYPE_CHECKING:
    from .app import App

USER_AGENT = "baton-webhooks/1"

# ~37 minutes of retries (1 s doubling to 10 min) before a delivery is given up.
DEFAULT_RETRY = Retry(attempts=12, base_delay=1.0, backoff=2.0, max_delay=600.0)


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """How callbacks are signed and sent. Defaults come from the environment, so the API
    process and every worker agree without passing anything around.

    `secret` (BATON_WEBHOOK_SECRET) signs every delivery; a job with a callback URL cannot be
    enqueued without one. `allow_private` (BATON_WEBHOOK_ALLOW_PRIVATE=1) permits callback
    URLs on loopback, link-local and private addresses, which are refused by default so a
    caller cannot make workers probe the internal network.
    """

    secret: str | None = field(default_factory=lambda: os.environ.get("BATON_WEBHOOK_SECRET"))
    allow_private: bool = field(default_factory=lambda: _env_flag("BATON_WEBHOOK_ALLOW_PRIVATE"))
    timeout: float = 10.0
    retry: Retry = DEFAULT_RETRY


# --- signing ---------------------------------------------------------------------------


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The `Baton-Signature` header value for `body`: `t=<unix>,v1=<hex hmac>`."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify_signature(secret: str, header: str, body: bytes, tolerance: float = 300.0) -> bool:
    """True if `header` signs `body` with `secret` and its timestamp is within `tolerance`
    seconds of now (a replayed old delivery is refused). Compares in constant time."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
        t_text = parts["t"]
        if not (t_text.isascii() and t_text.isdigit() and len(t_text) <= 12):
            return False
        if abs(time.time() - int(t_text)) > tolerance:
            return False
        expected = sign(secret, body, int(t_text)).split("v1=", 1)[1]
        given = parts.get("v1", "")
        # compare_digest refuses non-ASCII str with TypeError: compare bytes instead.
        return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))
    except (KeyError, ValueError, TypeError, OverflowError, AttributeError):
        return False


# --- which addresses may be called ----------------------------------------------------


def _refused_ip(text: str) -> bool:
    ip = ipaddress.ip_address(text.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None and (not embedded.is_global or embedded.is_multicast):
            return True
    return not ip.is_global or ip.is_multicast


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")
_TEREDO = ipaddress.ip_network("2001::/32")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries (mapped, compatible, NAT64, 6to4, Teredo):
    routers and stacks reach it, so the SSRF check must judge it, not the wrapper."""
    value = int(ip)
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64 or value >> 32 == 0:  # NAT64 well-known prefix, IPv4-compatible ::a.b.c.d
        if value >> 32 == 0 and value <= 1:  # :: and ::1 are judged as IPv6 themselves
            return None
        return ipaddress.IPv4Address(value & 0xFFFFFFFF)
    if ip in _SIX_TO_FOUR:
        return ip.sixtofour
    if ip in _TEREDO and ip.teredo is not None:
        return ip.teredo[1]  # the client's address (stored inverted; teredo undoes that)
    return None


def check_callback_url(url: str, config: WebhookConfig) -> None:
    """Refuse a callback URL before it is stored: a clear message instead of a delivery
    that can never work. Host names are resolved at delivery time (`_check_resolved`)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PayloadError(f"callback_url must be an http(s) URL with a host, got {url!r}")
    if not config.secret:
        raise PayloadError(
            "callback_url needs a webhook secret to sign deliveries: set BATON_WEBHOOK_SECRET"
        )
    if config.allow_private:
        return
    host = parts.hostname.rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        raise PayloadError(f"callback_url {url!r} points at loopback, which is refused")
    try:
        refused = _refused_ip(host)
    except ValueError:
        return  # a name: checked when resolved
    if refused:
        raise PayloadError(
            f"callback_url {url!r} points at a loopback, link-local or private address, "
            "which is refused (set BATON_WEBHOOK_ALLOW_PRIVATE=1 to allow it)"
        )


async def _check_resolved(url: str, config: WebhookConfig) -> None:
    """Resolve the host and refuse private targets (a public name can point inward)."""
    check_callback_url(url, config)
    if config.allow_private:
        return
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(parts.hostname, port)  # an error here is retried
    for info in infos:
        address = str(info[4][0])
        if _refused_ip(address):
            raise Permanent(f"callback host {parts.hostname} resolves to {address}: refused")


# --- delivering -------------------------------------------------------------------------


def payload(job: Job, event_type: str, at: str, delivery: str) -> bytes:
    data = {"id": delivery, "type": event_type, "at": at, "job": public_job(job)}
    return codec.encode(data).encode()


def public_job(job: Job) -> dict[str, Any]:
    """What a callback says about the job: its outcome, never its input."""
    return {
        "id": job.id,
        "pipeline": job.pipeline,
        "queue": job.queue,
        "tenant": job.tenant,
        "status": job.status.value,
        "attempts": job.attempts,
        "result": job.result,
        "error": brief_error(job.error),
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "idempotency_key": job.idempotency_key,
    }


def register(app: App, config: WebhookConfig) -> None:
    """Add the delivery task to `app`, so any of its workers can run deliveries."""

    @app.task(name=CALLBACK_PIPELINE, retry=config.retry, timeout=config.timeout + 5)
    async def deliver(job_id: str, seq: int) -> dict[str, Any]:
        import httpx

        job = await app.get_job(job_id)
        if not job.callback_url:
            raise Permanent(f"job {job_id} has no callback_url")
        events = await app.events(job_id, after=seq - 1, limit=1)
        event = events[0] if events else None
        if event is None or event.seq != seq or event.type not in TERMINAL_EVENTS:
            raise Permanent(f"job {job_id} has no terminal event {seq}")
        await _check_resolved(job.callback_url, config)
        assert config.secret is not None  # checked by _check_resolved
        did = delivery_id(job_id, seq)
        body = payload(job, event.type, str(event.as_dict()["at"]), did)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Baton-Delivery": did,
            "Baton-Event": event.type,
            "Baton-Signature": sign(config.secret, body),
        }
        async with httpx.AsyncClient(timeout=config.timeout, follow_redirects=False) as client:
            response = await client.post(job.callback_url, content=body, headers=headers)
        if response.is_success:
            return {"status_code": response.status_code, "delivery": did}
        response.raise_for_status()  # 3xx and 4xx/5xx: classified by baton's retry rules
        raise Permanent(f"callback answered {response.status_code}")  # unreachable for httpx

    del deliver


async def deliveries(app: App, job_id: str, tenant: str | None = None) -> list[Job]:
    """The delivery jobs of a job's endings, oldest first (none without a callback URL)."""
    job = await app.get_job(job_id, tenant=tenant)
    if not job.callback_url:
        return []
    found = []
    for event in await app.events(job_id):
        if event.type in TERMINAL_EVENTS:
            try:
                found.append(await app.get_job(delivery_id(job_id, event.seq), tenant=tenant))
            except JobNotFound:  # the ending is committed with its delivery: only a race
                continue
    return found


def describe_delivery(delivery: Job) -> dict[str, Any]:
    """A delivery as the job's status shows it: where it stands and why it last failed."""
    result = delivery.result if isinstance(delivery.result, dict) else {}
    errors = [s.error for s in delivery.steps if s.error] + [delivery.error or {}]
    last: dict[str, Any] = next((e for e in reversed(errors) if e), {})
    return {
        "id": delivery.id,
        "status": delivery.status.value,
        "attempts": delivery.attempts,
        "response_status": result.get("status_code") or last.get("http_status"),
        "last_error": None if delivery.status == Status.SUCCEEDED else last.get("message"),
        "created_at": delivery.created_at,
        "finished_at": delivery.finished_at,
    }
