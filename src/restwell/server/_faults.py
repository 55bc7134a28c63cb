"""Fault injection as a pure ASGI middleware: errors, latency, dropped connections, 429 bursts."""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from restwell.server._http import problem_response
from restwell.server._settings import FaultSettings

# A dropped response announces a body of this length and sends only its first bytes.
_DROPPED_LENGTH = 1024
_DROPPED_START = b'{"id":'


class FaultInjectionMiddleware:
    """Answers some requests badly, as configured by `FaultSettings`.

    The state (request counter, rate-limit window, RNG) belongs to the instance, one per app,
    and is only touched from the event loop, so it needs no lock.
    """

    def __init__(
        self,
        app: ASGIApp,
        faults: FaultSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.app = app
        self.faults = faults
        self._clock = clock
        self._wall_clock = wall_clock
        self._rng = random.Random(faults.seed)
        self._requests = 0
        self._window_start = -math.inf
        self._window_used = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI scope, injecting the configured faults into HTTP requests."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        faults = self.faults
        path: str = scope["path"]
        if faults.latency or faults.latency_jitter:
            jitter = self._rng.uniform(0, faults.latency_jitter) if faults.latency_jitter else 0
            await asyncio.sleep(faults.latency + jitter)
        self._requests += 1
        if self._requests <= faults.fail_first:
            detail = f"injected fault: the first {faults.fail_first} requests fail"
            await self._unavailable(detail, path, scope, receive, send)
            return
        rate_headers: dict[str, str] = {}
        if faults.burst_429:
            allowed, reset, rate_headers = self._take_from_window()
            if not allowed:
                detail = (
                    f"injected fault: at most {faults.burst_429} requests "
                    f"per {faults.burst_window:g} s"
                )
                headers = {**rate_headers, "Retry-After": str(reset)}
                await problem_response(429, detail, path, headers=headers)(scope, receive, send)
                return
        if faults.error_rate and self._rng.random() < faults.error_rate:
            detail = f"injected fault: random failure (rate {faults.error_rate:g})"
            await self._unavailable(detail, path, scope, receive, send)
            return
        # A HEAD response has no body to cut short, so it cannot be dropped this way.
        if faults.drop_rate and self._rng.random() < faults.drop_rate and scope["method"] != "HEAD":
            # The request takes effect and only its response is lost: the case that makes a
            # retried POST create twice unless it carries an Idempotency-Key.
            await self.app(scope, receive, _discard)
            await _drop(send)
            return
        if rate_headers:
            send = _with_headers(send, rate_headers)
        await self.app(scope, receive, send)

    async def _unavailable(
        self, detail: str, path: str, scope: Scope, receive: Receive, send: Send
    ) -> None:
        headers = {"Retry-After": str(self.faults.retry_after)}
        await problem_response(503, detail, path, headers=headers)(scope, receive, send)

    def _take_from_window(self) -> tuple[bool, int, dict[str, str]]:
        """Count a request in the fixed window: (allowed, seconds to reset, rate-limit headers)."""
        limit, window = self.faults.burst_429, self.faults.burst_window
        now = self._clock()
        if now - self._window_start >= window:
            self._window_start, self._window_used = now, 0
        self._window_used += 1
        remaining = max(limit - self._window_used, 0)
        reset = max(1, math.ceil(self._window_start + window - now))
        headers = {
            # draft-ietf-httpapi-ratelimit-headers: the policy (quota q per window w seconds)
            # and the state (r remaining, t seconds until the quota resets).
            "RateLimit-Policy": f'"burst";q={limit};w={max(1, math.ceil(window))}',
            "RateLimit": f'"burst";r={remaining};t={reset}',
            # The de-facto headers, in GitHub's form (the reset is a Unix time).
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(math.ceil(self._wall_clock() + reset)),
        }
        return self._window_used <= limit, reset, headers


async def _discard(message: Message) -> None:
    pass


async def _drop(send: Send) -> None:
    # ASGI has no "abort": announce a body, send only its start and return. The server then
    # closes the connection mid-body (uvicorn logs "ASGI callable returned without completing
    # response"), and the client sees a transport error rather than a valid response.
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % _DROPPED_LENGTH)]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": _DROPPED_START, "more_body": True})


def _with_headers(send: Send, headers: dict[str, str]) -> Send:
    raw = [
        (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()
    ]

    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *raw]}
        await send(message)

    return send_with_headers
