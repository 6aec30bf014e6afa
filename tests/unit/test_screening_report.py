"""A screening report is never late for want of speech detection: when Silero's features
are not ready within FEATURES_TIMEOUT (a saturated machine), the report goes on the sound
energy Asterisk heard, flagged with the reason, and never moves the caller down."""

from __future__ import annotations

import asyncio
import time
from typing import Any, cast

from ivr.adapters.ari.rest import AriRest
from ivr.adapters.speech.rtp_receiver import RtpPorts, RtpReceiver
from ivr.adapters.speech.screener import FEATURES_TIMEOUT, Listening, Screener, Session
from ivr.core import events as ev
from ivr.core.screening import ScreeningPolicy, Verdict, decide


async def test_late_speech_detection_gives_an_energy_report_on_time() -> None:
    posted: list[ev.ScreeningReport] = []
    arrived = asyncio.Event()

    def post(call_id: str, report: ev.CallEvent) -> None:
        posted.append(cast(ev.ScreeningReport, report))
        arrived.set()

    screener = Screener(cast(AriRest, object()), RtpPorts(41000, 41001), None, None, post)
    stalled = asyncio.Event()

    async def never(detector: Any) -> Any:
        await stalled.wait()

    screener._vad.features = never  # type: ignore[method-assign]
    detector = screener._vad.open()
    listening = Listening(screener._vad, detector, recognizing=False)
    receiver = cast(RtpReceiver, object())
    screener.sessions["c1"] = Session("c1", "", receiver, listening, detector, None, time.monotonic())
    screener._talk.start("c1")
    screener.talking("c1", 2.0)  # Asterisk heard two seconds of sound
    started = time.monotonic()
    screener.report("c1")
    await asyncio.wait_for(arrived.wait(), 2.0)
    assert time.monotonic() - started < FEATURES_TIMEOUT + 0.2
    features = posted[0].features
    assert features is not None and "speech detection late" in features.energy_only
    assert features.cue_speech_seconds == 2.0
    assert decide(features, ScreeningPolicy()).verdict is Verdict.NORMAL  # sound keeps the caller up
    stalled.set()
    screener.sessions.clear()
    screener._vad.close()
