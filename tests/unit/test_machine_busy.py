"""How busy the machine is, and what a centre's busy limit does with it: over the limit a
new caller is screened by energy and keys, with the machine's figure on the record; an
unreadable measure never sheds anyone."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import cast

import pytest

from ivr.adapters.ari.rest import AriRest
from ivr.adapters.machine_busy import WINDOW_SECONDS, MachineBusy, jiffies
from ivr.adapters.speech.rtp_receiver import RtpPorts
from ivr.adapters.speech.screener import Screener
from ivr.core import events as ev


def stat(busy: int, idle: int) -> str:
    """A /proc/stat whose all-cores line has `busy` ticks of user time and `idle` idle."""
    return f"cpu  {busy} 0 0 {idle} 0 0 0 0 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\nintr 1\n"


class Readings:
    def __init__(self, *texts: str) -> None:
        self.texts = list(texts)
        self.now = 0.0

    def read(self) -> str:
        return self.texts.pop(0)

    def clock(self) -> float:
        return self.now


def test_busy_is_everything_but_idle_and_io_wait_and_steal_counts_as_busy() -> None:
    assert jiffies("cpu  10 1 5 70 4 2 3 5 0 0\n") == (26, 100)  # user nice system irq softirq steal


def test_the_share_is_the_busy_ticks_over_the_last_second() -> None:
    readings = Readings(stat(0, 0), stat(50, 50), stat(150, 50), stat(250, 50), stat(250, 150))
    busy = MachineBusy(readings.read, readings.clock)
    assert busy.share() == 0.0  # nothing measured yet: nothing shed
    busy.note()
    assert busy.share() == 0.0
    for _ in range(3):
        readings.now += WINDOW_SECONDS / 2
        busy.note()
    assert busy.share() == 1.0  # the last second: 200 busy ticks of 200
    readings.now += WINDOW_SECONDS / 2
    busy.note()
    assert busy.share() == 0.5  # the busy half second before, then an idle one


def test_an_unreadable_measure_sheds_nobody_and_says_so_once(caplog: pytest.LogCaptureFixture) -> None:
    readings = Readings("intr 1 2 3\n", "cpu  1 2\n")
    busy = MachineBusy(readings.read, readings.clock)
    with caplog.at_level(logging.WARNING):
        busy.note()
        busy.note()
    assert busy.share() == 0.0
    assert len([r for r in caplog.records if "cannot be measured" in r.getMessage()]) == 1


async def test_over_the_centres_limit_a_new_caller_is_screened_by_energy_with_the_figure() -> None:
    posted: list[ev.ScreeningReport] = []
    arrived = asyncio.Event()

    def post(call_id: str, report: ev.CallEvent) -> None:
        posted.append(cast(ev.ScreeningReport, report))
        arrived.set()

    # an Asterisk the screener must not ask anything: no snoop, no channel for this caller
    screener = Screener(cast(AriRest, object()), RtpPorts(41010, 41011), None, None, post, busy_limit=0.85)
    screener.machine_busy = lambda: 0.93
    await screener.start("c1", "PJSIP/carrier-1", "08123")
    assert "c1" not in screener.sessions
    assert screener.status()["busy_limit"] == 0.85 and screener.status()["machine_busy"] == 0.93
    screener.talking("c1", 1.5)  # Asterisk's talk detection heard 1.5 s of sound
    screener.report("c1", time.time() + 0.3)
    await asyncio.wait_for(arrived.wait(), 2.0)
    features = posted[0].features
    assert features is not None
    assert "machine 93% busy (limit 85%)" in features.energy_only
    assert features.cue_speech_seconds == 1.5
    await screener.close()
