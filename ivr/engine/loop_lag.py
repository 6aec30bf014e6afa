"""How late the event loop runs: every call's events, timers and requests wait on it.

Rules:
- A tick sleeps TICK_SECONDS and measures how much later than asked it woke: the lag
  every event and timer met at that moment (an event loop held by work, by a thread
  holding the interpreter, or starved of CPU by a saturated machine).
- The worst lag of the last WINDOW_SECONDS is a Prometheus gauge
  (ivr112_event_loop_lag_seconds); a lag over WARN_SECONDS is logged with the time it
  happened, so a late verdict or offer can be traced to it, with the CPU the loop's own
  thread used meanwhile (about the lag when work in the loop held it) and the time it
  waited, runnable, for a CPU (a saturated machine; Linux's schedstat, when there): the
  rest it was blocked (a system call, or the interpreter held by another thread).
- Pure measurement: it changes nothing, and costs one wake-up per tick. What reads it
  decides: the screener sends a report earlier by the recent lag (recent()), so that it
  still reaches the core in time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

TICK_SECONDS = 0.1
WINDOW_SECONDS = 10.0
WARN_SECONDS = 0.5
LAG = "The event loop's worst lateness over the last 10 s (every call's events and timers met it)."


class LoopLag(Collector):
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._recent: deque[tuple[float, float]] = deque()  # (when, lag), the window's ticks

    def note(self, lag: float, computed: float = 0.0, cpu_wait: float | None = None) -> None:
        """One tick's lag (seconds), as measured now; `computed`: the CPU seconds the
        loop's thread used during the tick; `cpu_wait`: the seconds it waited for a CPU
        (None: not known here)."""
        self._recent.append((self._clock(), lag))
        self._forget_old()
        if lag > WARN_SECONDS:
            waited = "" if cpu_wait is None else f" and waited {cpu_wait:.2f} s for a CPU"
            log.warning(
                "event loop ran %.2f s late: calls' events and timers waited that long "
                "(its thread computed %.2f s%s meanwhile)",
                lag,
                computed,
                waited,
            )

    def worst(self) -> float:
        """The worst lag of the window (0 when no tick was measured in it)."""
        self._forget_old()
        return max((lag for _, lag in self._recent), default=0.0)

    def recent(self, seconds: float) -> float:
        """The worst lag of the last `seconds` (what a message posted now is likely to meet:
        the screener keeps it for a report's way to the core)."""
        since = self._clock() - seconds
        return max((lag for when, lag in reversed(self._recent) if when >= since), default=0.0)

    def _forget_old(self) -> None:
        """Only the window's ticks are kept."""
        since = self._clock() - WINDOW_SECONDS
        while self._recent and self._recent[0][0] < since:
            self._recent.popleft()

    async def watch(self) -> None:
        while True:
            asked, cpu, queued = self._clock(), time.thread_time(), cpu_wait_seconds()
            await asyncio.sleep(TICK_SECONDS)
            lag = max(0.0, self._clock() - asked - TICK_SECONDS)
            now_queued = cpu_wait_seconds()
            waited = now_queued - queued if now_queued is not None and queued is not None else None
            self.note(lag, time.thread_time() - cpu, waited)

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily("ivr112_event_loop_lag_seconds", LAG, value=self.worst())


def cpu_wait_seconds() -> float | None:
    """The seconds the calling thread has spent runnable, waiting for a CPU, since it
    started (Linux schedstat's second field); None where that is not available."""
    try:
        with open("/proc/thread-self/schedstat") as stat:
            return int(stat.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return None
