"""A circuit breaker per origin.

State machine (time passed in, no clock reads)::

    CLOSED --(failure_threshold consecutive failures)--> OPEN
    OPEN   --(recovery_time elapsed)--> HALF_OPEN  (up to half_open_probes in flight)
    HALF_OPEN --(probe succeeds)--> CLOSED
    HALF_OPEN --(probe fails)-----> OPEN (timer restarts)

A "failure" is what the retry policy calls a server-side failure (5xx, transport errors);
client errors such as 404 say nothing about the origin's health and count as successes.
"""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass, field

__all__ = ["BreakerState", "CircuitBreaker"]


class BreakerState(enum.Enum):
    """The state of one origin's circuit."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(slots=True)
class _Circuit:
    state: BreakerState = BreakerState.CLOSED
    failures: int = 0
    opened_at: float = 0.0
    probes: int = 0


@dataclass(slots=True)
class CircuitBreaker:
    """Stops sending to an origin that keeps failing, and probes it to detect recovery.

    Attributes:
        failure_threshold: Consecutive failures that open the circuit.
        recovery_time: Seconds the circuit stays open before a probe is let through.
        half_open_probes: Requests allowed through at once while half-open.
    """

    failure_threshold: int = 5
    recovery_time: float = 30.0
    half_open_probes: int = 1
    _circuits: dict[str, _Circuit] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.failure_threshold < 1 or self.recovery_time < 0 or self.half_open_probes < 1:
            raise ValueError(
                "breaker needs failure_threshold >= 1, recovery_time >= 0, half_open_probes >= 1"
            )

    def state(self, origin: str, now: float) -> BreakerState:
        """The circuit's state for ``origin`` at monotonic time ``now`` (no side effects)."""
        circuit = self._circuits.get(origin)
        if circuit is None:
            return BreakerState.CLOSED
        if circuit.state is BreakerState.OPEN and now - circuit.opened_at >= self.recovery_time:
            return BreakerState.HALF_OPEN
        return circuit.state

    def retry_in(self, origin: str, now: float) -> float:
        """Seconds until :meth:`allow` lets a request through (0.0 when it would now).

        Open: until the recovery time has passed. Half-open with every probe still out: until a
        lost probe is given up on (the same wait :meth:`allow` applies).
        """
        circuit = self._circuits.get(origin)
        if circuit is None or circuit.state is BreakerState.CLOSED:
            return 0.0
        if circuit.state is BreakerState.HALF_OPEN and circuit.probes < self.half_open_probes:
            return 0.0
        return max(0.0, circuit.opened_at + self.recovery_time - now)

    def allow(self, origin: str, now: float) -> bool:
        """Whether a request to ``origin`` may be sent at ``now``; admits half-open probes."""
        circuit = self._circuits.get(origin)
        if circuit is None or (circuit.state is BreakerState.CLOSED):
            return True
        with self._lock:
            if circuit.state is BreakerState.OPEN:
                if now - circuit.opened_at < self.recovery_time:
                    return False
                circuit.state = BreakerState.HALF_OPEN
                circuit.opened_at = now
                circuit.probes = 0
            if circuit.state is BreakerState.HALF_OPEN:
                if circuit.probes >= self.half_open_probes:
                    # A probe that never reported (cancelled, crashed) must not wedge the
                    # circuit: after another recovery period, let a new probe through.
                    if now - circuit.opened_at < self.recovery_time:
                        return False
                    circuit.opened_at = now
                    circuit.probes = 0
                circuit.probes += 1
            return True

    def record(self, origin: str, success: bool, now: float) -> None:
        """Record the outcome of a request that :meth:`allow` let through."""
        circuit = self._circuits.get(origin)
        if success:
            # Hot path: a healthy origin has no circuit object or one at zero failures.
            if circuit is None or (circuit.state is BreakerState.CLOSED and not circuit.failures):
                return
            with self._lock:
                circuit.state = BreakerState.CLOSED
                circuit.failures = 0
                circuit.probes = 0
            return
        with self._lock:
            if circuit is None:
                circuit = self._circuits.setdefault(origin, _Circuit())
            circuit.failures += 1
            if circuit.state is BreakerState.HALF_OPEN or (
                circuit.state is BreakerState.CLOSED and circuit.failures >= self.failure_threshold
            ):
                circuit.state = BreakerState.OPEN
                circuit.opened_at = now
                circuit.probes = 0
