"""A screening report is never late for want of speech detection: when Silero's features
are not ready before the report is due (a saturated machine), the report goes on the sound
energy Asterisk heard, flagged with the reason, and never moves the caller down."""

from __future__ import annotations

import asyncio
import re
import socket
import time
from typing import Any, cast

from ivr.adapters.ami import AmiUnavailable
from ivr.adapters.ari.rest import AriRest
from ivr.adapters.speech.rtp_receiver import RtpPorts
from ivr.adapters.speech.screener import LEAST_WAIT, RETURN_SECONDS, Screener
from ivr.adapters.speech.screening_session import Session
from ivr.core import events as ev
from ivr.core.screening import ScreeningPolicy, Verdict, decide


def _stalled_screener(port: int) -> tuple[Screener, list[ev.ScreeningReport], asyncio.Event, asyncio.Event]:
    """A screener whose speech detection never answers, with caller c1 heard for 2 s by
    Asterisk's talk detection; the reports it posts, and an event set when one arrives."""
    posted: list[ev.ScreeningReport] = []
    arrived, stalled = asyncio.Event(), asyncio.Event()

    def post(call_id: str, report: ev.CallEvent) -> None:
        posted.append(cast(ev.ScreeningReport, report))
        arrived.set()

    screener = Screener(cast(AriRest, object()), RtpPorts(port, port + 1), None, None, post)

    async def never(call_id: str, cue_below: float | None = None) -> Any:
        await stalled.wait()

    screener._detection.features = never  # type: ignore[method-assign]
    rtp = cast(socket.socket, object())
    screener.sessions["c1"] = Session("c1", "", rtp, None, time.monotonic())
    screener._talk.start("c1")
    screener.talking("c1", 2.0)  # Asterisk heard two seconds of sound
    return screener, posted, arrived, stalled


async def test_late_speech_detection_gives_an_energy_report_before_it_is_due() -> None:
    screener, posted, arrived, stalled = _stalled_screener(41000)
    due = time.time() + 0.3
    screener.report("c1", due)
    await asyncio.wait_for(arrived.wait(), 2.0)
    assert time.time() < due  # posted with time left for its way to the core
    features = posted[0].features
    assert features is not None and "speech detection late" in features.energy_only
    assert features.cue_speech_seconds == 2.0
    assert decide(features, ScreeningPolicy()).verdict is Verdict.NORMAL  # sound keeps the caller up
    stalled.set()
    screener.sessions.clear()
    await screener.close()


async def test_on_a_late_event_loop_the_report_leaves_earlier_by_its_lag() -> None:
    """The event loop has been running 0.15 s late: a report posted at the usual margin
    would reach the core after it was due, so it is posted that much earlier."""
    screener, posted, arrived, stalled = _stalled_screener(41008)
    screener.loop_lag = lambda: 0.15
    due = time.time() + 0.3
    screener.report("c1", due)
    await asyncio.wait_for(arrived.wait(), 2.0)
    assert time.time() < due - RETURN_SECONDS - 0.15 + 0.05
    features = posted[0].features
    assert features is not None
    waited = re.search(r"no answer in ([0-9.]+) s", features.energy_only)
    assert waited and float(waited.group(1)) <= 0.3 - RETURN_SECONDS - 0.15 + 0.005
    stalled.set()
    screener.sessions.clear()
    await screener.close()


async def test_a_report_asked_after_it_was_due_waits_no_longer() -> None:
    """The command reached the screener late (a busy machine): speech detection gets a
    moment, not the time the report would have had, and the caller is still screened."""
    screener, posted, arrived, stalled = _stalled_screener(41004)
    started = time.monotonic()
    screener.report("c1", time.time() - 0.5)
    await asyncio.wait_for(arrived.wait(), 2.0)
    assert time.monotonic() - started < LEAST_WAIT + 0.1
    features = posted[0].features
    assert features is not None and features.cue_speech_seconds == 2.0
    assert f"no answer in {LEAST_WAIT:.2f} s" in features.energy_only
    stalled.set()
    screener.sessions.clear()
    await screener.close()


async def test_asterisks_talk_detection_is_removed_once_screening_is_over() -> None:
    """TALK_DETECT (set by the dialplan) costs Asterisk DSP for as long as the call lasts:
    once the caller's screening is over it is removed, once, through AMI (never ARI: see
    talk_removal.py), and a caller gone costs nothing."""
    asked: list[tuple[str, str, str]] = []

    class Ami:
        async def set_channel_var(self, channel_id: str, variable: str, value: str) -> None:
            asked.append((channel_id, variable, value))
            if channel_id == "c4":
                raise AmiUnavailable("Setvar TALK_DETECT(remove) on c4: No such channel")

    class Ari:
        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"ARI asked to {name}")

    screener = Screener(cast(AriRest, Ari()), RtpPorts(41002, 41003), None, None, lambda c, e: None)
    screener.variables = Ami()
    screener.talking("c1", None)  # Asterisk reports talking from the answer
    screener.stop("c1")
    screener.stop("c1")  # the call's end stops it again
    screener.stop("c2")  # never screened here: nothing to remove
    screener.talking("c3", 1.0)
    screener.stop("c3", call_over=True)  # the call ended: the caller is gone or in the dialplan
    screener.talking("c4", 1.0)
    screener.stop("c4")  # hung up meanwhile: AMI says so, and that is all
    await asyncio.sleep(0.05)
    assert asked == [("c1", "TALK_DETECT(remove)", ""), ("c4", "TALK_DETECT(remove)", "")]
    await screener.close()
