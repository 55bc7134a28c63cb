"""The cache flow's ``Collapse`` action, driven by hand: when it is yielded, and what follows.

No runner and no network: each test plays the runner, answering the flow's actions from a
dict storage and scripted origin replies, and checks the order of what the flow asked for and
that a leading ticket is released however the flow ends.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from restwell._flow import (
    CacheDelete,
    CacheGet,
    CachePut,
    Collapse,
    Collapser,
    FlowConfig,
    Send,
    Ticket,
    cached_flow,
)
from restwell._flow._cache import CacheMode
from restwell._models import Headers, Request, Response, Timeout
from restwell.policy import RetryPolicy
from restwell.policy.cache import CachePolicy
from tests.cache_policy.support import T0, URL, http_date


class _Clock:
    def monotonic(self) -> float:
        return 0.0

    def time(self) -> float:
        return T0


@dataclass
class Runner:
    """Answers a cached flow's actions: storage in a dict, ``Collapse`` with ``ticket``."""

    ticket: Callable[[], Ticket]
    storage: dict[str, dict[str, bytes]] = field(default_factory=dict)
    actions: list[str] = field(default_factory=list)

    def run(self, request: Request, **options: Any) -> Response:
        cfg = FlowConfig(retry=RetryPolicy(max_attempts=1), clock=_Clock())
        flow = cached_flow(request, Timeout(), cfg, CachePolicy(), **options)
        value: Any = None
        while True:
            try:
                action = flow.send(value)
            except StopIteration as stop:
                response: Response = stop.value
                return response
            self.actions.append(type(action).__name__)
            value = self.perform(action)

    def perform(self, action: Any) -> Any:
        if isinstance(action, CacheGet):
            return list(self.storage.get(action.key, {}).items())
        if isinstance(action, CachePut):
            self.storage.setdefault(action.key, {})[action.variant] = action.value
            return True
        if isinstance(action, CacheDelete):
            self.storage.pop(action.key, None)
            return None
        if isinstance(action, Collapse):
            return self.ticket()
        assert isinstance(action, Send)
        return origin_reply(action.request)


def origin_reply(request: Request) -> Response:
    fields = Headers({"Cache-Control": "max-age=60", "Date": http_date(), "Content-Length": "2"})
    return Response(200, fields, request=request, content=b"ok")


def get(method: str = "GET") -> Request:
    return Request(method, URL, Headers({"Accept": "application/json"}))


def leading(released: list[int]) -> Callable[[], Ticket]:
    return lambda: Ticket(True, _release=lambda: released.append(1))


def test_no_collapse_action_unless_asked() -> None:
    runner = Runner(leading([]))
    assert runner.run(get()).cache_status == "miss"
    assert "Collapse" not in runner.actions


def test_the_leader_goes_to_the_origin_and_releases_once() -> None:
    released: list[int] = []
    runner = Runner(leading(released))
    response = runner.run(get(), collapse=True)
    assert response.cache_status == "miss"
    assert runner.actions == ["CacheGet", "Collapse", "Send", "CachePut"]
    assert released == [1]


def test_a_follower_looks_up_again_and_is_served_what_the_leader_stored() -> None:
    # The leader (another request) stores its answer while this one waits.
    filler = Runner(leading([]))
    filler.run(get(), collapse=True)

    def stored_meanwhile() -> Ticket:
        runner.storage.update(filler.storage)
        return Ticket(False, 0.1)

    runner = Runner(stored_meanwhile)
    response = runner.run(get(), collapse=True)
    assert response.cache_status == "hit"
    assert response.content == b"ok"
    assert runner.actions == ["CacheGet", "Collapse", "CacheGet"]


def test_a_follower_that_misses_again_goes_itself_without_a_second_wait() -> None:
    runner = Runner(lambda: Ticket(False, 5.0, timed_out=True))
    response = runner.run(get(), collapse=True)
    assert response.cache_status == "miss"
    assert runner.actions == ["CacheGet", "Collapse", "CacheGet", "Send", "CachePut"]


@pytest.mark.parametrize(
    ("method", "options"),
    [
        ("GET", {"stream": True}),
        ("GET", {"mode": "refresh"}),
        ("GET", {"mode": "skip"}),
        ("POST", {}),
        ("DELETE", {}),
    ],
)
def test_what_never_collapses(method: str, options: dict[str, Any]) -> None:
    runner = Runner(leading([]))
    runner.run(get(method), collapse=True, **options)
    assert "Collapse" not in runner.actions
    assert "Send" in runner.actions


def test_a_head_miss_collapses_too() -> None:
    released: list[int] = []
    runner = Runner(leading(released))
    runner.run(get("HEAD"), collapse=True)
    assert "Collapse" in runner.actions
    assert released == [1]


@pytest.mark.parametrize("how", ["close", "error"])
def test_the_leader_releases_when_the_flow_is_closed_or_fails(how: str) -> None:
    released: list[int] = []
    cfg = FlowConfig(retry=RetryPolicy(max_attempts=1), clock=_Clock())
    mode: CacheMode = "default"
    flow = cached_flow(get(), Timeout(), cfg, CachePolicy(), mode=mode, collapse=True)
    assert isinstance(flow.send(None), CacheGet)
    assert isinstance(flow.send([]), Collapse)
    assert isinstance(flow.send(Ticket(True, _release=lambda: released.append(1))), Send)
    assert released == []
    if how == "close":  # GeneratorExit at the Send: a cancelled or abandoned request
        flow.close()
    else:
        with pytest.raises(RuntimeError):
            flow.throw(RuntimeError("backend bug"))
    assert released == [1]


def test_the_registry_hands_out_one_lead_per_key_and_forgets_it() -> None:
    woken: list[threading.Event] = []

    def wake(event: threading.Event) -> None:
        woken.append(event)
        event.set()

    collapser = Collapser(1.0, threading.Event, wake)
    first = collapser.join("k")
    assert isinstance(first, Ticket)
    assert first.lead
    second = collapser.join("k")
    assert isinstance(second, threading.Event)
    assert not second.is_set()
    other = collapser.join("other")
    assert isinstance(other, Ticket)
    assert other.lead
    assert len(collapser) == 2
    first.done()
    first.done()  # idempotent: wakes once
    assert second.is_set()
    assert woken == [second]
    assert len(collapser) == 1
    assert isinstance(collapser.join("k"), Ticket)  # a new miss leads again


def test_a_negative_timeout_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        Collapser(-0.1, threading.Event, threading.Event.set)
