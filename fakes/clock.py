"""Clocks: the real one, and a virtual one that tests move by hand.

Core code that needs the time takes a :class:`Clock` (anything with
``now()``), so production passes :class:`SystemClock` and tests pass a
:class:`VirtualClock`. The virtual clock never moves on its own: time passes
only when the test calls :meth:`VirtualClock.advance`, which also fires the
timers that fall due, in time order. That keeps every simulation that runs on
it (replication cycles, retries, VSS snapshots, workloads) deterministic.

Example::

    from fakes.clock import VirtualClock

    clock = VirtualClock()
    fired: list[float] = []
    clock.call_later(30.0, lambda: fired.append(clock.now()))
    clock.advance(29.0)          # nothing due yet
    clock.advance(1.0)           # the timer fires at exactly start + 30
    assert fired == [clock.now()]
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

#: The default start of a virtual clock: 2027-01-15T08:00:00Z, a fixed instant
#: so that timestamps in tests and golden files never depend on the real date.
DEFAULT_START = 1_800_000_000.0


class Clock(Protocol):
    """Anything that tells the time in seconds since the Unix epoch."""

    def now(self) -> float:
        """Return the current time in seconds since the epoch."""


class SystemClock:
    """The real wall clock, for production code."""

    def now(self) -> float:
        """Return ``time.time()``."""
        return time.time()

    def datetime(self) -> datetime:
        """Return the current time as an aware UTC datetime."""
        return datetime.fromtimestamp(self.now(), tz=UTC)


@dataclass(order=True)
class _Timer:
    when: float
    sequence: int
    callback: Callable[[], object] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)


class TimerHandle:
    """A scheduled callback on a :class:`VirtualClock`; cancel it with :meth:`cancel`."""

    def __init__(self, timer: _Timer) -> None:
        self._timer = timer

    @property
    def when(self) -> float:
        """The virtual time at which the callback is due."""
        return self._timer.when

    @property
    def cancelled(self) -> bool:
        """Whether :meth:`cancel` was called before the timer fired."""
        return self._timer.cancelled

    def cancel(self) -> None:
        """Stop the callback from firing; harmless if it already fired."""
        self._timer.cancelled = True


class VirtualClock:
    """A clock that moves only when told to, and fires timers in time order.

    Timers due at the same instant fire in the order they were scheduled. A
    callback may schedule further timers; those that fall inside the span
    being advanced fire in the same :meth:`advance` call.
    """

    def __init__(self, start: float = DEFAULT_START) -> None:
        self._now = float(start)
        self._timers: list[_Timer] = []
        self._sequence = itertools.count()
        self._lock = threading.Lock()
        self._advancing = False

    def now(self) -> float:
        """Return the current virtual time in seconds since the epoch."""
        return self._now

    def datetime(self) -> datetime:
        """Return the current virtual time as an aware UTC datetime."""
        return datetime.fromtimestamp(self._now, tz=UTC)

    def call_at(self, when: float, callback: Callable[[], object]) -> TimerHandle:
        """Run ``callback()`` when the clock reaches ``when``.

        A time already past fires at the next :meth:`advance`, even ``advance(0)``.
        """
        with self._lock:
            timer = _Timer(float(when), next(self._sequence), callback)
            heapq.heappush(self._timers, timer)
        return TimerHandle(timer)

    def call_later(self, delay: float, callback: Callable[[], object]) -> TimerHandle:
        """Run ``callback()`` ``delay`` seconds from now; ``delay`` must not be negative."""
        if delay < 0:
            raise ValueError(f"timer delay must not be negative, got {delay}")
        return self.call_at(self._now + delay, callback)

    def pending(self) -> int:
        """Return how many timers are scheduled and not cancelled."""
        with self._lock:
            return sum(1 for timer in self._timers if not timer.cancelled)

    def next_due(self) -> float | None:
        """Return when the earliest live timer is due, or ``None`` if there is none."""
        with self._lock:
            self._drop_cancelled_head()
            return self._timers[0].when if self._timers else None

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``, firing every timer that falls due.

        While a callback runs, :meth:`now` returns the timer's own due time
        (or the current time, for a timer scheduled in the past). If a
        callback raises, the exception propagates, the clock stays at that
        timer's time and the later timers stay scheduled.
        """
        if seconds < 0:
            raise ValueError(f"cannot move a clock backwards: advance({seconds})")
        if self._advancing:
            # Re-entering would fire timers out of order relative to the outer call.
            raise RuntimeError("advance() was called from inside a timer callback")
        target = self._now + seconds
        self._advancing = True
        try:
            self._fire_until(target)
        finally:
            self._advancing = False
        self._now = max(self._now, target)

    def _fire_until(self, target: float) -> None:
        while (timer := self._pop_due(target)) is not None:
            self._now = max(self._now, timer.when)
            timer.callback()

    def _pop_due(self, target: float) -> _Timer | None:
        with self._lock:
            self._drop_cancelled_head()
            if self._timers and self._timers[0].when <= target:
                return heapq.heappop(self._timers)
            return None

    def _drop_cancelled_head(self) -> None:
        while self._timers and self._timers[0].cancelled:
            heapq.heappop(self._timers)
