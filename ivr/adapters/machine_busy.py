"""How busy the whole machine's CPU is: what callers' answers and media compete for.

Rules:
- Read from Linux's /proc/stat, all cores: busy is everything but idle and I/O wait (time
  the hypervisor took counts as busy: the calls could not have it). A reading every
  TICK_SECONDS; share() is the busy share (0-1) between the newest reading and the one
  WINDOW_SECONDS before it.
- Never sheds for want of a measure: before two readings, or where /proc/stat cannot be
  read or parsed, share() is 0.0 (the error is logged once).
- Pure measurement, one small file read per tick; what reads it decides (the screener,
  against IVR_SCREENING_BUSY_LIMIT; not read at all when that is 1, off). On a control
  plane with a host of its own this is that host, not Asterisk's.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

TICK_SECONDS = 0.25
WINDOW_SECONDS = 1.0
PROC_STAT = Path("/proc/stat")


def jiffies(stat: str) -> tuple[int, int]:
    """(busy, total) clock ticks of all cores from /proc/stat's text; ValueError when its
    first line is not the "cpu" line of at least user..steal."""
    fields = stat.split("\n", 1)[0].split()
    if len(fields) < 9 or fields[0] != "cpu":
        raise ValueError(f"/proc/stat: first line is not the all-cores 'cpu' line: {fields[:1]}")
    ticks = [int(value) for value in fields[1:9]]  # user nice system idle iowait irq softirq steal
    return sum(ticks) - ticks[3] - ticks[4], sum(ticks)


class MachineBusy:
    def __init__(
        self,
        read: Callable[[], str] = PROC_STAT.read_text,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self._clock = clock
        self._readings: deque[tuple[float, int, int]] = deque()  # (when, busy, total)
        self._failed = False

    def note(self) -> None:
        """Take one reading; keep those of the window and the last one before it."""
        try:
            busy, total = jiffies(self._read())
        except (OSError, ValueError) as exc:
            if not self._failed:
                log.warning("the machine's CPU cannot be measured (%s): nothing is shed for it", exc)
            self._failed = True
            return
        now = self._clock()
        self._readings.append((now, busy, total))
        while len(self._readings) > 2 and self._readings[1][0] <= now - WINDOW_SECONDS:
            self._readings.popleft()

    def share(self) -> float:
        """The busy share of all cores over the last WINDOW_SECONDS (0.0 when not measured)."""
        if len(self._readings) < 2:
            return 0.0
        (_, busy0, total0), (_, busy1, total1) = self._readings[0], self._readings[-1]
        return (busy1 - busy0) / (total1 - total0) if total1 > total0 else 0.0

    async def watch(self) -> None:
        while True:
            self.note()
            await asyncio.sleep(TICK_SECONDS)
