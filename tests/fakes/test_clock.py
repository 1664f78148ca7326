"""The virtual clock: time moves only by advance(), timers fire in time order."""

from __future__ import annotations

import functools
import time
from datetime import UTC, datetime

import pytest

from fakes.clock import DEFAULT_START, Clock, SystemClock, VirtualClock


def test_starts_at_fixed_instant_and_reports_aware_utc() -> None:
    clock = VirtualClock()
    assert clock.now() == DEFAULT_START == 1_800_000_000.0
    assert clock.datetime() == datetime(2027, 1, 15, 8, 0, tzinfo=UTC)
    assert VirtualClock(start=100.0).now() == 100.0


def test_advance_moves_time_exactly() -> None:
    clock = VirtualClock(start=10.0)
    clock.advance(2.5)
    clock.advance(0)
    assert clock.now() == 12.5


def test_advance_backwards_is_refused() -> None:
    clock = VirtualClock(start=10.0)
    with pytest.raises(ValueError, match=r"^cannot move a clock backwards: advance\(-1\)$"):
        clock.advance(-1)
    assert clock.now() == 10.0


def test_timers_fire_in_time_order_at_their_own_time() -> None:
    clock = VirtualClock(start=0.0)
    fired: list[tuple[str, float]] = []
    clock.call_at(5.0, lambda: fired.append(("b", clock.now())))
    clock.call_later(2.0, lambda: fired.append(("a", clock.now())))
    clock.call_at(9.0, lambda: fired.append(("c", clock.now())))
    clock.advance(6.0)
    assert fired == [("a", 2.0), ("b", 5.0)]
    assert clock.now() == 6.0
    clock.advance(3.0)
    assert fired == [("a", 2.0), ("b", 5.0), ("c", 9.0)]


def test_simultaneous_timers_fire_in_scheduling_order() -> None:
    clock = VirtualClock(start=0.0)
    fired: list[int] = []
    for number in range(5):
        clock.call_at(1.0, functools.partial(fired.append, number))
    clock.advance(1.0)
    assert fired == [0, 1, 2, 3, 4]


def test_timer_scheduled_by_a_callback_fires_within_the_same_advance() -> None:
    clock = VirtualClock(start=0.0)
    ticks: list[float] = []

    def tick() -> None:
        ticks.append(clock.now())
        clock.call_later(30.0, tick)

    clock.call_later(30.0, tick)
    clock.advance(100.0)
    assert ticks == [30.0, 60.0, 90.0]
    assert clock.now() == 100.0
    assert clock.next_due() == 120.0


def test_cancelled_timer_does_not_fire() -> None:
    clock = VirtualClock(start=0.0)
    fired: list[str] = []
    handle = clock.call_later(1.0, lambda: fired.append("x"))
    clock.call_later(2.0, lambda: fired.append("y"))
    assert clock.pending() == 2
    handle.cancel()
    assert handle.cancelled and handle.when == 1.0
    assert clock.pending() == 1
    assert clock.next_due() == 2.0
    clock.advance(5.0)
    assert fired == ["y"]
    assert clock.pending() == 0
    assert clock.next_due() is None


def test_timer_in_the_past_fires_on_next_advance_without_moving_time_back() -> None:
    clock = VirtualClock(start=50.0)
    seen: list[float] = []
    clock.call_at(10.0, lambda: seen.append(clock.now()))
    clock.advance(0)
    assert seen == [50.0]
    assert clock.now() == 50.0


def test_negative_delay_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^timer delay must not be negative, got -0.5$"):
        VirtualClock().call_later(-0.5, lambda: None)


def test_advance_from_a_callback_is_refused() -> None:
    clock = VirtualClock(start=0.0)
    clock.call_later(1.0, lambda: clock.advance(1.0))
    with pytest.raises(
        RuntimeError, match=r"^advance\(\) was called from inside a timer callback$"
    ):
        clock.advance(2.0)


def test_failing_callback_leaves_clock_at_its_time_and_keeps_later_timers() -> None:
    clock = VirtualClock(start=0.0)
    fired: list[float] = []

    def boom() -> None:
        raise KeyError("boom")

    clock.call_at(3.0, boom)
    clock.call_at(4.0, lambda: fired.append(clock.now()))
    with pytest.raises(KeyError):
        clock.advance(10.0)
    assert clock.now() == 3.0
    assert clock.pending() == 1
    clock.advance(1.0)
    assert fired == [4.0]


def test_system_clock_follows_time_time_and_satisfies_protocol() -> None:
    clocks: list[Clock] = [SystemClock(), VirtualClock()]
    system = SystemClock()
    before = time.time()
    reading = system.now()
    after = time.time()
    assert before <= reading <= after
    assert system.datetime().tzinfo is UTC
    assert all(isinstance(clock.now(), float) for clock in clocks)
