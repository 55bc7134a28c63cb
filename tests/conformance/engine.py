"""Runs a :class:`Scenario` through a restwell client against a real origin on 127.0.0.1.

The origin (:class:`ScriptedOrigin`) is a small HTTP/1.1 server on raw asyncio streams, so the
test controls every byte it sends (repeated fields, hop-by-hop fields, odd statuses, a dropped
connection). Each scenario registers its steps under a fresh token in the URL; a request names
its step in a ``Req-Num`` field, so a background revalidation is answered with the step that
caused it, as in the public suite. The origin's "now" is the scenario's :class:`FakeClock`, the
same clock the client's cache reads, so ages and dates agree to the second without waiting.

:func:`run` returns the list of failed expectations (empty: the scenario passed).
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import formatdate
from typing import Any, Literal
from urllib.parse import urlsplit

import restwell
from restwell import CachePolicy, MemoryCache
from restwell.testing import FakeClock, set_testing
from tests.conformance.model import PAUSE, Mode, Scenario, Step, Value
from tests.origin import read_request_head, serving

__all__ = ["ScriptedOrigin", "run", "running_scripted_origin"]

DATE_FIELDS = frozenset(
    {"date", "expires", "last-modified", "if-modified-since", "if-unmodified-since"}
)
_LOCATION_FIELDS = frozenset({"location", "content-location"})
_NO_BODY = frozenset({204, 304})
START = 1_700_000_000.0
"""The fake clock's start: a whole second, so ``Date`` values carry no rounding."""


def http_date(epoch: float, rfc850: bool = False) -> str:
    """``epoch`` as an IMF-fixdate, or in the obsolete RFC 850 form."""
    if not rfc850:
        return formatdate(int(epoch), usegmt=True)
    moment = datetime.fromtimestamp(int(epoch), UTC)
    return moment.strftime("%A, %d-%b-%y %H:%M:%S GMT")


def _fix(name: str, value: Value, now: float, rfc850: tuple[str, ...]) -> str:
    """A scripted value as sent: date offsets become HTTP-dates relative to ``now``."""
    if isinstance(value, int) and name.lower() in DATE_FIELDS:
        return http_date(now + value, name.lower() in rfc850)
    return str(value)


@dataclass
class Seen:
    """A request as the origin received it, and the fields of its answer to compare later."""

    request_num: int
    method: str
    headers: dict[str, str]
    saved: dict[str, list[str]]


@dataclass
class _Live:
    steps: tuple[Step, ...]
    clock: FakeClock
    token: str
    seen: list[Seen] = field(default_factory=list)
    sent: dict[int, list[tuple[str, str]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class _Reply:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    disconnect: bool = False


class ScriptedOrigin:
    """Answers each registered scenario's requests with its scripted steps."""

    def __init__(self) -> None:
        self.url = ""
        self._live: dict[str, _Live] = {}
        self._lock = threading.Lock()

    def register(self, steps: tuple[Step, ...], clock: FakeClock) -> _Live:
        live = _Live(steps, clock, uuid.uuid4().hex)
        with self._lock:
            self._live[live.token] = live
        return live

    def forget(self, live: _Live) -> None:
        with self._lock:
            self._live.pop(live.token, None)

    def handle(self, method: str, target: str, headers: dict[str, str]) -> _Reply:
        segments = [s for s in urlsplit(target).path.split("/") if s]
        with self._lock:
            live = self._live.get(segments[1]) if len(segments) > 1 else None
        if live is None:
            return _Reply(404, "Not Found", [], b"no such scenario")
        with live.lock:
            return self._answer(live, method, target, headers)

    def _answer(self, live: _Live, method: str, target: str, headers: dict[str, str]) -> _Reply:
        server_num = len(live.seen) + 1
        client_num = int(headers.get("req-num", "0") or 0)
        num = client_num or server_num
        if not 0 < num <= len(live.steps):
            return _Reply(409, "Conflict", [], b"no such step")
        step = live.steps[num - 1]
        if step.response_pause:
            live.clock.advance(step.response_pause)  # the origin is slow: time passes
        now = live.clock.time()
        status, reason = step.status, step.reason
        if step.expect in ("etag_validated", "lm_validated"):
            status, reason = self._validation(live, num, headers, now)
        out: list[tuple[str, str]] = [
            ("Server-Base-Url", target),
            ("Server-Request-Count", str(server_num)),
            ("Client-Request-Count", str(client_num)),
            ("Server-Now", str(int(now * 1000))),
        ]
        saved: dict[str, list[str]] = {}
        for header in step.response_headers:
            name, value = header[0], _fix(header[0], header[1], now, step.rfc850)
            if step.magic_locations and name.lower() in _LOCATION_FIELDS:
                value = f"{target}/{value}" if value else target
            out.append((name, value))
            checked = len(header) < 3 or header[2] is True
            if checked:
                saved[name] = [v for n, v in out if n.lower() == name.lower()]
        live.sent[num] = out
        if not any(n.lower() == "content-type" for n, _ in out):
            out.append(("Content-Type", "text/plain"))
        if not any(n.lower() == "date" for n, _ in out):
            out.append(("Date", http_date(now)))  # as any origin server does (RFC 9110 §6.6.1)
        live.seen.append(Seen(client_num, method, dict(headers), saved))
        out.append(("Request-Numbers", " ".join(str(s.request_num) for s in live.seen)))
        body = b"" if status in _NO_BODY else (step.response_body or live.token).encode()
        return _Reply(status, reason, out, body, step.disconnect)

    @staticmethod
    def _validation(live: _Live, num: int, headers: dict[str, str], now: float) -> tuple[int, str]:
        # A 304 only when the request carries exactly the validator sent on the previous step.
        previous = live.sent.get(num - 1)
        if previous is None and num > 1:
            prior = live.steps[num - 2]
            previous = [(h[0], _fix(h[0], h[1], now, prior.rfc850)) for h in prior.response_headers]
        fields = {n.lower(): v for n, v in reversed(previous or [])}
        lm, etag = fields.get("last-modified"), fields.get("etag")
        if lm is not None and headers.get("if-modified-since") == lm:
            return 304, "Not Modified"
        if etag is not None and headers.get("if-none-match") == etag:
            return 304, "Not Modified"
        return 999, "304 Not Generated"


async def _serve(origin: ScriptedOrigin, reader: Any, writer: Any) -> None:
    try:
        while True:
            request = await read_request_head(reader)
            if request is None:
                return
            method, target, headers = request
            await reader.readexactly(int(headers.get("content-length", "0") or 0))
            reply = origin.handle(method, target, headers)
            if reply.disconnect:
                writer.transport.abort()
                return
            out = [f"HTTP/1.1 {reply.status} {reply.reason}"]
            out += [f"{name}: {value}" for name, value in reply.headers]
            framed = any(name.lower() == "content-length" for name, _ in reply.headers)
            if reply.status not in _NO_BODY and not framed:
                out.append(f"Content-Length: {len(reply.body)}")
            # Field values go out as ISO-8859-1 octets, as the public suite's (Node) origin does.
            payload = "\r\n".join(out).encode("latin-1", "replace") + b"\r\n\r\n"
            writer.write(payload + (b"" if method == "HEAD" else reply.body))
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


@contextmanager
def running_scripted_origin() -> Iterator[ScriptedOrigin]:
    """The scripted origin on a free port of 127.0.0.1, in a thread, for the ``with`` block."""
    origin = ScriptedOrigin()
    with serving(lambda r, w: _serve(origin, r, w), "conformance origin") as port:
        origin.url = f"http://127.0.0.1:{port}"
        yield origin


# ----------------------------------------------------------------------------- the client side


ClientKind = Literal["sync", "async"]
"""Which client runs the scenario: ``restwell.Client`` or ``restwell.AsyncClient``."""


def client_options(mode: Mode, base_url: str, clock: FakeClock) -> dict[str, Any]:
    """The client configuration the mode stands for (the same for both client kinds).

    ``private``: an application's client with its own cache (the default policy, a private
    cache); ``shared``: the reverse-proxy ("forwarding") configuration of the ``Client``
    docstring with a shared-cache policy; ``cdn``: the same with ``CDN-Cache-Control`` as the
    policy's targeted field (RFC 9213). None retries, so every request the origin sees is one
    the scenario sent (the public suite fails a test on any retry), and none follows
    redirects, so a 3xx is the answer under test, not a hop.
    """
    if mode == "private":
        return {
            "cache": MemoryCache(),
            "retry": None,
            "clock": clock,
            "follow_redirects": False,
        }
    targeted = ("CDN-Cache-Control",) if mode == "cdn" else ()
    return {
        "default_headers": False,
        "decode_content": False,
        "follow_redirects": False,
        "retry": None,
        "clock": clock,
        "cache": MemoryCache(),
        "cache_policy": CachePolicy(shared=True, targeted=targeted),
    }


class Driver:
    """One client of either kind behind the three calls a scenario makes: send, settle, close.

    The async client runs on a private event loop driven from this thread, so the engine's
    step loop is the same for both kinds.
    """

    def __init__(self, kind: ClientKind, mode: Mode, base_url: str, clock: FakeClock) -> None:
        options = client_options(mode, base_url, clock)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sync: restwell.Client | None = None
        self._async: restwell.AsyncClient | None = None
        if kind == "sync":
            self._sync = restwell.Client(base_url, **options)
        else:
            self._loop = asyncio.new_event_loop()
            self._async = self._loop.run_until_complete(self._make_async(base_url, options))

    @staticmethod
    async def _make_async(base_url: str, options: dict[str, Any]) -> restwell.AsyncClient:
        return restwell.AsyncClient(base_url, **options)  # built inside its loop

    def request(
        self, method: str, url: str, headers: dict[str, str], content: str | None
    ) -> restwell.Response:
        if self._sync is not None:
            return self._sync.request(method, url, headers=headers, content=content)
        assert self._loop is not None
        assert self._async is not None
        return self._loop.run_until_complete(
            self._async.request(method, url, headers=headers, content=content)
        )

    def settle(self) -> None:
        """Let background revalidations (stale-while-revalidate) finish.

        So each step sees the cache they leave behind, whatever the scheduling.
        """
        if self._sync is not None:
            for thread in list(self._sync._revalidations.threads):
                thread.join(5)
            return
        assert self._loop is not None
        assert self._async is not None
        pending = list(self._async._revalidations.tasks)
        if pending:
            gathered = asyncio.gather(*pending, return_exceptions=True)
            self._loop.run_until_complete(asyncio.wait_for(gathered, 5))

    def close(self) -> None:
        if self._sync is not None:
            self._sync.close()
            return
        assert self._loop is not None
        assert self._async is not None
        try:
            self._loop.run_until_complete(self._async.aclose())
        finally:
            self._loop.close()


@dataclass
class Answer:
    """What the client got for one step (an exception reads as a 502 without fields)."""

    status: int | None
    headers: dict[str, str]
    body: str
    error: str = ""

    def get(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def _request_headers(
    mode: Mode, step: Step, num: int, scenario: Scenario, previous: Answer | None
) -> dict[str, str]:
    pairs: list[tuple[str, str]] = []
    if mode != "private":
        # What the public suite's non-browser client sends on every request: request
        # directives a cache must ignore, and a Cache-Control that makes Pragma irrelevant.
        pairs += [("Pragma", "foo"), ("Cache-Control", "nothing-to-see-here")]
    for name, value in step.request_headers:
        if step.magic_ims and name.lower() == "if-modified-since" and isinstance(value, int):
            base = float(previous.get("server-now") or 0) / 1000 if previous else START
            pairs.append((name, http_date(base + value, "if-modified-since" in step.rfc850)))
        else:
            pairs.append((name, str(value)))
    pairs += [("Test-Name", scenario.id), ("Test-ID", scenario.id), ("Req-Num", str(num))]
    joined: dict[str, tuple[str, str]] = {}
    for name, value in pairs:
        key = name.lower()
        joined[key] = (
            (joined[key][0], f"{joined[key][1]}, {value}") if key in joined else (name, value)
        )
    return dict(joined.values())


def _send(driver: Driver, url: str, step: Step, headers: dict[str, str]) -> Answer:
    try:
        response = driver.request(step.method, url, headers, step.request_body)
    except Exception as exc:  # a refused stale answer surfaces as the client's error
        return Answer(None, {}, "", f"{type(exc).__name__}: {exc}")
    fields = {name.lower(): response.headers.get(name) or "" for name in response.headers}
    return Answer(response.status_code, fields, response.content.decode("utf-8", "replace"))


def _header_ok(expected: Any, answer: Answer, step: Step) -> str | None:
    if isinstance(expected, str):
        return None if answer.get(expected) is not None else f"{expected} missing"
    name = expected[0]
    value = answer.get(name)
    if len(expected) == 3:
        if value is None:
            return f"{name} missing"
        op, operand = expected[1], expected[2]
        if op == ">":
            ok = value.strip().isdigit() and int(value) > int(operand)
            return None if ok else f"{name} is {value!r}, should be > {operand}"
        other = answer.get(str(operand))
        return None if value == other else f"{name} is {value!r}, should equal {operand}"
    server_now = float(answer.get("server-now") or 0) / 1000
    want = _fix(name, expected[1], server_now, step.rfc850)
    return None if value == want else f"{name} is {value!r}, not {want!r}"


def _check_answer(step: Step, num: int, answer: Answer, token: str) -> list[str]:
    fails: list[str] = []

    def fail(message: str) -> None:
        fails.append(f"response {num}: {message}")

    numbers = (answer.get("request-numbers") or "").split()
    if len(numbers) != len(set(numbers)):
        fail(f"a request was repeated (origin saw {numbers})")
    raw = answer.get("server-request-count")
    served = int(raw) if raw and raw.isdigit() else None
    if step.expect == "cached":
        if not (answer.status == 304 and served is None) and not (
            served is not None and served < num
        ):
            fail("not served from the cache")
    elif step.expect == "not_cached" and served != num:
        fail(f"served from the cache (origin request count {served})")
    if step.expected_status is not None:
        if answer.status != step.expected_status:
            fail(f"status {answer.status}, not {step.expected_status}")
    elif step.expect_status_unchecked:
        pass
    elif answer.status == 999:
        fail("the request should have been conditional")
    elif answer.status != step.status:
        fail(f"status {answer.status}, not {step.status}")
    for expected in step.expected_response_headers:
        problem = _header_ok(expected, answer, step)
        if problem:
            fail(problem)
    for missing in step.expected_response_headers_missing:
        if isinstance(missing, str):
            if answer.get(missing) is not None:
                fail(f"unexpected {missing}: {answer.get(missing)!r}")
        elif missing[1] in (answer.get(missing[0]) or ""):
            fail(f"{missing[0]} still has {missing[1]!r}")
    if step.check_body and answer.status is not None:
        if step.expected_text is not None:
            want: str | None = step.expected_text
        elif step.response_body:  # an empty scripted body means "the default" there too
            want = step.response_body
        elif answer.status not in _NO_BODY and step.method != "HEAD":
            want = token
        else:
            want = None
        if want is not None and answer.body != want:
            fail(f"body {answer.body[:60]!r}, not {want[:60]!r}")
    if answer.error and not step.expect_status_unchecked:
        fail(answer.error)
    return fails


def _check_origin(steps: tuple[Step, ...], answers: list[Answer], seen: list[Seen]) -> list[str]:
    fails: list[str] = []
    at = 0
    for i, step in enumerate(steps):
        num = i + 1

        def fail(message: str, num: int = num) -> None:
            fails.append(f"request {num}: {message}")

        if step.expect == "cached":
            continue  # the origin was not to see it
        request = seen[at] if at < len(seen) else None
        at += 1
        if step.expect == "not_cached" and (request is None or request.request_num != num):
            fail("did not reach the origin")
        validator = {"etag_validated": "if-none-match", "lm_validated": "if-modified-since"}
        if step.expect in validator:
            if request is None:
                fail("was not sent to the origin")
            elif validator[step.expect] not in request.headers:
                fail(f"carried no {validator[step.expect]}")
        if request is None:
            if step.expected_request_headers or step.expected_method:
                fail("was not sent to the origin")
            continue
        for header in step.expected_request_headers:
            if isinstance(header, str):
                if header.lower() not in request.headers:
                    fail(f"{header} not sent")
            elif request.headers.get(header[0].lower()) != header[1]:
                fail(
                    f"{header[0]} is {request.headers.get(header[0].lower())!r}, not {header[1]!r}"
                )
        for header in step.expected_request_headers_missing:
            if isinstance(header, str):
                if header.lower() in request.headers:
                    fail(f"{header} sent")
            elif request.headers.get(header[0].lower()) == header[1]:
                fail(f"{header[0]} sent as {header[1]!r}")
        for name, values in request.saved.items():
            if name.lower() == "date":
                continue  # a cache may add or rewrite it when it has none to keep
            received = answers[i].get(name)
            if received != ", ".join(values):
                fail(f"answer's {name} is {received!r}, origin sent {', '.join(values)!r}")
        if step.expected_method and request.method != step.expected_method:
            fail(f"method {request.method}, not {step.expected_method}")
    return fails


def run(
    scenario: Scenario, mode: Mode, origin: ScriptedOrigin, kind: ClientKind = "sync"
) -> list[str]:
    """Play ``scenario`` through a fresh ``kind`` client in ``mode``; the failed expectations."""
    clock = FakeClock(START)
    live = origin.register(scenario.steps, clock)
    set_testing(True, clock=clock)
    answers: list[Answer] = []
    fails: list[str] = []
    try:
        driver = Driver(kind, mode, origin.url, clock)
        try:
            for i, step in enumerate(scenario.steps):
                num = i + 1
                path = f"/test/{live.token}"
                if step.filename:
                    path += f"/{step.filename}"
                if step.query:
                    path += f"?{step.query}"
                previous = answers[-1] if answers else None
                headers = _request_headers(mode, step, num, scenario, previous)
                answer = _send(driver, path, step, headers)
                answers.append(answer)
                fails += _check_answer(step, num, answer, live.token)
                driver.settle()
                if step.pause_after:
                    clock.advance(PAUSE)
        finally:
            driver.close()
        with live.lock:
            seen = list(live.seen)
        fails += _check_origin(scenario.steps, answers, seen)
    finally:
        set_testing(False)
        origin.forget(live)
    return fails
