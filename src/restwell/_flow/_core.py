"""Flows: the policy's decisions as generators of I/O actions, and their two runners.

A flow yields what it needs done (:class:`Send` a request, :class:`Sleep`, :class:`Close` a
response, :data:`CALL` the wrapped function) and receives the result, or has the error thrown
back in at the ``yield``. It never does I/O itself. :func:`run_sync` and :func:`run_async` are
the only places that know whether I/O blocks or awaits, so every rule (retries, budget,
breaker, rate-limit pacing, deadlines, redirects) is written exactly once for the sync client,
the async client, every backend, every integration and the ``@retry`` decorator.
"""

from __future__ import annotations

import contextlib
import logging
import random as _random
import time
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass, field
from typing import Any, Final, Protocol, TypeVar

from restwell._models import Headers, Request, Response, RetryRecord, Timeout, redact_url
from restwell.errors import (
    CircuitOpenError,
    DeadlineExceeded,
    RateLimitExceeded,
    TooManyRedirects,
    TransportError,
)
from restwell.policy import (
    REDIRECT_STATUSES,
    SENSITIVE_HEADERS,
    Action,
    CircuitBreaker,
    RateLimitGate,
    RetryBudget,
    RetryDecision,
    RetryPolicy,
    origin_of,
    plan_redirect,
)
from restwell.policy.ratelimit import announces_quota

__all__ = [
    "CALL",
    "CacheDelete",
    "CacheGet",
    "CachePut",
    "Clock",
    "Close",
    "Collapse",
    "FastPath",
    "FirstAttempt",
    "Flow",
    "FlowConfig",
    "Send",
    "SendFirst",
    "Sleep",
    "Spawn",
    "SystemClock",
    "call_flow",
    "request_flow",
    "run_async",
    "run_sync",
]

T = TypeVar("T")
log = logging.getLogger("restwell")


@dataclass(slots=True)
class Send:
    """Send ``request`` once with ``timeout``; the result is a :class:`Response`."""

    request: Request
    timeout: Timeout
    stream: bool


@dataclass(slots=True)
class SendFirst:
    """Make attempt 1 the way a runner's fast path does (:class:`FastPath`).

    The result is the :class:`Response` when attempt 1 settles the request, else the
    :class:`FirstAttempt` for :func:`request_flow` to go on from, or ``None`` when attempt 1
    must wait for a rate limit (the flow then makes it itself). Runners that offer it are
    told so (``cached_flow(first_attempts=True)``): every runner knows :class:`Send`.
    """

    request: Request
    timeout: Timeout
    stream: bool


@dataclass(slots=True)
class Sleep:
    """Wait ``seconds`` (skipped in testing mode)."""

    seconds: float


@dataclass(slots=True)
class Close:
    """Release an unread streamed response that will not be returned."""

    response: Response


@dataclass(slots=True)
class CacheGet:
    """Read every stored variant of ``key``; the result is ``[(variant, bytes), ...]``."""

    key: str


@dataclass(slots=True)
class CachePut:
    """Store one variant (``ttl <= 0`` removes it)."""

    key: str
    variant: str
    value: bytes
    ttl: float


@dataclass(slots=True)
class CacheDelete:
    """Remove every variant of ``key``."""

    key: str


@dataclass(slots=True)
class Spawn:
    """Run ``flow`` in the background (stale-while-revalidate); its errors are only logged.

    ``key`` names the work: a runner starts no second one with the same key while one runs.
    """

    flow: Generator[Any, Any, Any]
    key: str = ""


@dataclass(slots=True)
class Collapse:
    """Join the requests in flight for cache key ``key`` (request collapsing).

    The result is a :class:`~restwell._flow._collapse.Ticket`: either this request leads
    (it goes to the origin, then must call ``done()``) or it waited for the leader to end
    (or for the runner's bound on the wait) and should look the cache up again.
    """

    key: str


class _Call:
    __slots__ = ()

    def __repr__(self) -> str:
        return "CALL"


CALL: Final = _Call()
"""Call the wrapped function once (``@retry`` flows)."""

FlowAction = (
    Send | SendFirst | Sleep | Close | _Call | CacheGet | CachePut | CacheDelete | Spawn | Collapse
)
Flow = Generator[FlowAction, Any, T]


class Clock(Protocol):
    """Time sources of a flow: a monotonic clock for durations, a wall clock for HTTP-dates."""

    def monotonic(self) -> float:
        """Seconds on a monotonic clock."""
        ...

    def time(self) -> float:
        """Wall-clock epoch seconds."""
        ...


class SystemClock:
    """The real clocks."""

    __slots__ = ()
    monotonic = staticmethod(time.monotonic)
    time = staticmethod(time.time)


RetryHook = Callable[[Request, RetryRecord], None]


@dataclass(slots=True)
class FlowConfig:
    """Everything a request flow consults besides the request itself (one per client).

    Attributes:
        retry: The default retry policy.
        budget: Retry budget shared by the client's requests, or ``None``.
        breaker: Circuit breaker shared by the client's requests, or ``None``.
        gate: Rate-limit pacing shared by the client's requests, or ``None``.
        follow_redirects: Whether redirects are followed.
        max_redirects: How many in a row.
        on_retry: Hooks called before each retry's wait.
        clock: Time sources.
        random: Jitter source, floats in ``[0, 1)``.
    """

    retry: RetryPolicy = field(default_factory=RetryPolicy)
    budget: RetryBudget | None = None
    breaker: CircuitBreaker | None = None
    gate: RateLimitGate | None = None
    follow_redirects: bool = True
    max_redirects: int = 20
    on_retry: tuple[RetryHook, ...] = ()
    clock: Clock = field(default_factory=SystemClock)
    random: Callable[[], float] = field(default_factory=lambda: _random.Random().random)


def _log_extra(request: Request, attempt: int, decision: RetryDecision) -> dict[str, Any]:
    return {
        "restwell_method": request.method,
        "restwell_url": redact_url(request.url),
        "restwell_attempt": attempt,
        "restwell_delay": decision.delay,
        "restwell_reason": decision.reason,
    }


def _wait_for_gate(
    cfg: FlowConfig, policy: RetryPolicy, request: Request, origin: str, start: float
) -> Flow[None]:
    """Hold the request while the origin's rate limit is known to be spent."""
    assert cfg.gate is not None
    now = cfg.clock.monotonic()
    wait = cfg.gate.delay(origin, now)
    if wait <= 0.0:
        return
    left = policy.time_left(now - start)
    if (wait > policy.max_wait and policy.on_long_wait == "raise") or (
        left is not None and wait >= left
    ):
        raise RateLimitExceeded(
            f"rate limit of {origin} resets in {wait:.3g}s, over the allowed wait",
            retry_after=wait,
            reset_at=cfg.clock.time() + wait,
            request=request,
        )
    wait = min(wait, policy.max_wait)
    log.info(
        "waiting %.3gs for the rate limit of %s",
        wait,
        origin,
        extra={"restwell_url": redact_url(request.url), "restwell_delay": wait},
    )
    yield Sleep(wait)


def _admit(
    cfg: FlowConfig,
    policy: RetryPolicy,
    request: Request,
    origin: str,
    timeout: Timeout,
    start: float,
    now: float,
    attempt: int,
) -> Timeout:
    """Checks before an attempt is sent: the deadline (shrinking the timeout) and the breaker."""
    left = policy.time_left(now - start)
    if left is not None:
        if left <= 0.0:
            raise DeadlineExceeded(
                f"deadline of {policy.deadline:g}s passed after {attempt - 1} attempt(s)",
                request=request,
            )
        timeout = timeout.shrink(left)
    breaker = cfg.breaker
    if breaker is not None and not breaker.allow(origin, now):
        raise CircuitOpenError(origin, breaker.retry_in(origin, now), request=request)
    return timeout


_REFUSALS = frozenset({403, 429, 503})


def _settle(
    cfg: FlowConfig, policy: RetryPolicy, origin: str, response: Response, sent_at: float
) -> bool:
    """Record a response with the breaker and the gate; True when no retry rule applies."""
    status = response.status_code
    if cfg.breaker is not None:
        cfg.breaker.record(origin, status < 500, sent_at)
    gate = cfg.gate
    # Most answers are successes that announce no quota: skip the clock reads then.
    if gate is not None and (status in _REFUSALS or announces_quota(response.headers)):
        clock = cfg.clock
        gate.observe(origin, status, response.headers, clock.time(), clock.monotonic())
    if status < 400 or (status not in policy.retry_statuses and status != 403):
        if cfg.budget is not None:
            cfg.budget.record_success()
        return True
    return False


def _attempts(
    request: Request,
    timeout: Timeout,
    stream: bool,
    cfg: FlowConfig,
    policy: RetryPolicy,
    start: float,
    first: tuple[Response | TransportError, float, bool] | None = None,
) -> Flow[Response]:
    """Send ``request`` until it succeeds or the policy gives up (``start``: deadline base).

    ``first`` is attempt 1 as a runner's fast path made it: its outcome, when it was sent,
    and whether the (already settled) response was final. The flow takes over from there.
    """
    clock = cfg.clock
    budget, gate = cfg.budget, cfg.gate
    origin = (request.origin or origin_of(request.url)) if cfg.breaker or gate else ""
    # Only a method that is unsafe to repeat needs the header lookup.
    has_key = (
        request.method not in policy.retry_methods and policy.idempotency_header in request.headers
    )
    retries: list[RetryRecord] = []
    attempt = 0
    delay = 0.0
    # End (monotonic) of the gate's block that this request's own retry wait already covered.
    covered = 0.0
    while True:
        attempt += 1
        settled = final = False
        try:
            if first is not None:
                outcome, sent_at, final = first
                first = None
                if isinstance(outcome, TransportError):
                    raise outcome
                response: Response = outcome
                settled = True
            else:
                sent_at = clock.monotonic()
                if gate is not None:
                    wait = gate.delay(origin, sent_at)
                    if wait > 0.0 and sent_at + wait > covered + 1e-6:
                        yield from _wait_for_gate(cfg, policy, request, origin, start)
                        sent_at = clock.monotonic()
                limits = _admit(cfg, policy, request, origin, timeout, start, sent_at, attempt)
                response = yield Send(request, limits, stream)
        except TransportError as exc:
            now = clock.monotonic()
            if cfg.breaker is not None:
                cfg.breaker.record(origin, False, now)
            decision = policy.decide_error(
                attempt=attempt,
                method=request.method,
                has_idempotency_key=has_key,
                kind=exc.kind,
                elapsed=now - start,
                random=cfg.random,
                previous_delay=delay,
            )
            decision = _spend_budget(budget, decision, retryable=exc.kind in policy.retry_errors)
            if decision.retry and not request.replayable:
                decision = _vetoed(decision, "the request body cannot be sent again")
            record = RetryRecord(attempt, exc.kind.value, decision)
            if not decision.retry:
                exc.attempts, exc.retries, exc.stop_reason = attempt, retries, decision.reason
                if retries:
                    log.warning(
                        "giving up on %s %s: %s",
                        request.method,
                        redact_url(request.url),
                        decision.reason,
                        extra=_log_extra(request, attempt, decision),
                    )
                raise
        else:
            if not settled:
                final = _settle(cfg, policy, origin, response, sent_at)
            if final:
                response.attempts, response.retries = attempt, retries
                return response
            status = response.status_code
            decision = policy.decide_status(
                attempt=attempt,
                method=request.method,
                has_idempotency_key=has_key,
                status=status,
                headers=response.headers,
                now=clock.time(),
                elapsed=clock.monotonic() - start,
                random=cfg.random,
                previous_delay=delay,
            )
            decision = _spend_budget(
                budget, decision, retryable=status in policy.retry_statuses or decision.retry
            )
            if decision.retry and not request.replayable:
                decision = _vetoed(decision, "the request body cannot be sent again")
            record = RetryRecord(attempt, str(status), decision)
            if decision.action is Action.RAISE:
                if stream:
                    yield Close(response)
                raise RateLimitExceeded(
                    decision.reason,
                    retry_after=decision.delay,
                    reset_at=clock.time() + decision.delay,
                    request=request,
                    response=response,
                )
            if not decision.retry:
                response.attempts, response.retries = attempt, retries
                response.stop_reason = decision.reason
                if retries:
                    log.warning(
                        "giving up on %s %s: %s",
                        request.method,
                        redact_url(request.url),
                        decision.reason,
                        extra=_log_extra(request, attempt, decision),
                    )
                return response
            if gate is not None:
                # The policy weighed (and maybe capped) this response's rate-limit signal in
                # its retry wait: the gate must not make the retry wait for it a second time.
                now = clock.monotonic()
                covered = now + gate.delay(origin, now)
            if stream:
                yield Close(response)
        retries.append(record)
        log.info(
            "retrying %s %s: %s",
            request.method,
            redact_url(request.url),
            decision.reason,
            extra=_log_extra(request, attempt, decision),
        )
        for hook in cfg.on_retry:
            hook(request, record)
        if not decision.server_wait:
            delay = decision.delay
        if decision.delay > 0.0:
            yield Sleep(decision.delay)


def _spend_budget(
    budget: RetryBudget | None, decision: RetryDecision, *, retryable: bool
) -> RetryDecision:
    """Charge the budget for a failed attempt; veto the retry when the budget is spent."""
    if budget is None:
        return decision
    if not retryable:
        budget.record_success()
        return decision
    budget.record_failure()
    if decision.retry and not budget.can_retry():
        return _vetoed(
            decision,
            f"retry budget exhausted ({budget.tokens:.3g} of {budget.max_tokens:g} tokens)",
        )
    return decision


def _vetoed(decision: RetryDecision, why: str) -> RetryDecision:
    """Turn a retry into a stop, keeping what failed and saying why."""
    return RetryDecision(Action.RETURN, 0.0, f"{decision.reason.split(';')[0]}; {why}")


def _follow(request: Request, response: Response) -> Request | None:
    """The request a redirect response points to, with credentials stripped off-origin."""
    plan = plan_redirect(
        request.method, request.url, response.status_code, response.headers.get("location")
    )
    if plan is None:
        return None
    headers = request.headers.copy()
    if plan.strip_credentials:
        for name in SENSITIVE_HEADERS:
            headers.remove(name)
    content = request.content
    if not plan.keep_body:
        content = None
        for name in ("content-type", "content-length", "transfer-encoding", "content-encoding"):
            headers.remove(name)
    return Request(plan.method, plan.url, headers, content, request.extensions)


def request_flow(
    request: Request,
    timeout: Timeout,
    cfg: FlowConfig,
    *,
    stream: bool = False,
    policy: RetryPolicy | None = None,
    first: FirstAttempt | None = None,
) -> Flow[Response]:
    """The whole life of one logical request: attempts, retries, waits and redirects.

    Args:
        request: What to send (its idempotency key, if any, is reused by every attempt).
        timeout: Per-attempt timeouts (shrunk to a deadline when the policy has one).
        cfg: The client's shared configuration and state.
        stream: Leave the final body unread.
        policy: Overrides ``cfg.retry`` for this request.
        first: Attempt 1 as a runner's fast path made it, when the flow must take over.
    """
    policy = policy or cfg.retry
    history: list[Response] = []
    start = cfg.clock.monotonic() if first is None else first.start
    outcome = None if first is None else (first.outcome, first.sent_at, first.final)
    while True:
        response = yield from _attempts(request, timeout, stream, cfg, policy, start, outcome)
        outcome = None
        if not cfg.follow_redirects or response.status_code not in REDIRECT_STATUSES:
            if history:
                response.history = history
            return response
        target = _follow(request, response)
        if target is None:
            response.history = history
            return response
        if len(history) >= cfg.max_redirects:
            if stream:
                yield Close(response)
            raise TooManyRedirects(
                f"more than {cfg.max_redirects} redirects", request=request, response=response
            )
        if stream:
            yield Close(response)
        history.append(response)
        request = target


@dataclass(slots=True)
class FirstAttempt:
    """Attempt 1 made by a runner's fast path, handed to the flow when it needs the policy."""

    outcome: Response | TransportError
    sent_at: float
    start: float
    final: bool


@dataclass(slots=True)
class FastPath:
    """What a runner needs to send attempt 1 itself, without starting a flow.

    Most requests succeed at once; making that attempt directly, with the same checks the
    flow makes (:func:`_admit`, :func:`_settle`), spares every such request the generator
    machinery. Anything else (a retryable status, an error, a redirect) is handed to
    :func:`request_flow` with ``first=`` and continues exactly as if the flow had sent it.
    """

    timeout: Timeout
    origin: str
    start: float

    @staticmethod
    def begin(request: Request, timeout: Timeout, cfg: FlowConfig) -> FastPath | None:
        """Admit attempt 1 now, or ``None`` when it must wait for a rate limit (use the flow)."""
        clock = cfg.clock
        now = clock.monotonic()
        origin = (request.origin or origin_of(request.url)) if cfg.breaker or cfg.gate else ""
        if cfg.gate is not None and cfg.gate.delay(origin, now) > 0.0:
            return None
        limits = _admit(cfg, cfg.retry, request, origin, timeout, now, now, 1)
        return FastPath(limits, origin, now)

    def settle(self, response: Response, cfg: FlowConfig) -> FirstAttempt | None:
        """Settle attempt 1's response: ``None`` when it is the answer, else the handover."""
        final = _settle(cfg, cfg.retry, self.origin, response, self.start)
        if final and not (cfg.follow_redirects and response.status_code in REDIRECT_STATUSES):
            return None
        return FirstAttempt(response, self.start, self.start, final)

    def failed(self, error: TransportError) -> FirstAttempt:
        """Attempt 1 failed below HTTP: the handover for the flow to decide."""
        return FirstAttempt(error, self.start, self.start, False)


def call_flow(
    policy: RetryPolicy,
    retry_on: Callable[[Exception], bool],
    cfg: FlowConfig,
    name: str,
) -> Flow[Any]:
    """Call a plain function until it returns or fails in a way ``retry_on`` rejects."""
    clock = cfg.clock
    start = clock.monotonic()
    attempt = 0
    delay = 0.0
    while True:
        attempt += 1
        try:
            return (yield CALL)
        except Exception as exc:
            if not retry_on(exc):
                raise
            decision = policy.decide_exception(
                attempt=attempt,
                elapsed=clock.monotonic() - start,
                random=cfg.random,
                previous_delay=delay,
            )
            if not decision.retry:
                raise
            log.info(
                "retrying %s after %s: %s",
                name,
                type(exc).__name__,
                decision.reason,
                extra={
                    "restwell_function": name,
                    "restwell_attempt": attempt,
                    "restwell_delay": decision.delay,
                    "restwell_reason": decision.reason,
                    "restwell_error": type(exc).__name__,
                },
            )
            record = RetryRecord(attempt, type(exc).__name__, decision)
            for hook in cfg.on_retry:
                hook(Request("CALL", name, Headers()), record)
            delay = decision.delay
            if delay > 0.0:
                yield Sleep(delay)


def run_sync(flow: Flow[T], perform: Callable[[FlowAction], Any]) -> T:
    """Drive ``flow`` with blocking I/O: ``perform`` carries out each action."""
    send, throw = flow.send, flow.throw
    value: Any = None
    error: Exception | None = None
    while True:
        try:
            action = send(value) if error is None else throw(error)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        error = None
        try:
            value = perform(action)
        except Exception as exc:
            value, error = None, exc
        except BaseException:
            # Interrupted: run the flow's ``finally`` blocks now (a collapsed miss's leader
            # releases its followers there), not whenever the generator is collected. A
            # cleanup that fails must not replace the interruption itself.
            with contextlib.suppress(Exception):
                flow.close()
            raise


async def run_async(flow: Flow[T], perform: Callable[[FlowAction], Awaitable[Any]]) -> T:
    """Drive ``flow`` on the event loop: ``perform`` is awaited for each action."""
    send, throw = flow.send, flow.throw
    value: Any = None
    error: Exception | None = None
    while True:
        try:
            action = send(value) if error is None else throw(error)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        error = None
        try:
            value = await perform(action)
        except Exception as exc:
            value, error = None, exc
        except BaseException:
            with contextlib.suppress(Exception):  # cancelled: cleanup now, as in run_sync
                flow.close()
            raise
