# The event loop's lateness (ivr.engine.loop_lag): a loop held up by work shows as lag,
# the worst of the last 10 s is the metric, and a long hold-up is logged.
from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from ivr.engine.loop_lag import LoopLag


async def test_a_loop_held_up_by_work_shows_as_lag_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    lag = LoopLag()
    watching = asyncio.create_task(lag.watch())
    await asyncio.sleep(0.25)
    assert lag.worst() < 0.05  # an idle loop wakes on time
    with caplog.at_level(logging.WARNING, "ivr.engine.loop_lag"):
        time.sleep(0.7)  # noqa: ASYNC251 (the point: a blocking call in the loop, computing nothing)
        await asyncio.sleep(0.15)
    watching.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await watching
    assert 0.5 < lag.worst() < 1.0
    assert f"event loop ran {lag.worst():.2f} s late" in caplog.text
    assert "its thread computed 0.0" in caplog.text
    assert "and waited 0.0" in caplog.text  # blocked, not waiting for a CPU
    registry = CollectorRegistry()
    registry.register(lag)
    exposed = generate_latest(registry).decode()
    assert f"ivr112_event_loop_lag_seconds {lag.worst()}" in exposed


def _ticks(*ticks: tuple[float, float]) -> tuple[LoopLag, list[float]]:
    """A LoopLag given these ticks (when, lag), and its clock (to move it on)."""
    now = [0.0]
    lag = LoopLag(clock=lambda: now[0])
    for when, late in ticks:
        now[0] = when
        lag.note(late)
    return lag, now


def test_the_metric_is_the_worst_of_the_last_ten_seconds() -> None:
    lag, now = _ticks((100.0, 2.0), (105.0, 0.1))
    assert lag.worst() == 2.0
    now[0] = 110.5
    assert lag.worst() == 0.1  # the 2 s hold-up is out of the window
    now[0] = 116.0
    assert lag.worst() == 0.0


def test_the_recent_lag_is_the_worst_of_the_last_moments_only() -> None:
    lag, now = _ticks((100.0, 0.4), (100.5, 0.05))
    assert lag.recent(1.0) == 0.4
    now[0] = 101.2
    assert lag.recent(1.0) == 0.05  # the 0.4 s is older than a second: a report no longer meets it
    assert lag.worst() == 0.4  # the metric still shows it
