"""Screening by sound energy (Asterisk's TALK_DETECT) for callers beyond what speech
detection can take: the seconds of sound a caller made, counted from Asterisk's reports."""

from __future__ import annotations

import asyncio
from typing import Any

from ivr.adapters.ari.rest import AriError
from ivr.adapters.speech.talk_detection import TalkDetection


class Ari:
    def __init__(self, refuse: bool = False) -> None:
        self.sets: list[tuple[str, str, str]] = []
        self.refuse = refuse

    async def set_channel_var(self, channel_id: str, variable: str, value: str) -> None:
        if self.refuse:
            raise AriError("set channel variable", 404, "Channel not found")
        self.sets.append((channel_id, variable, value))


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


def detection(ari: Any, clock: Clock) -> TalkDetection:
    return TalkDetection(ari, clock)


def test_finished_talks_add_up_and_a_talk_going_on_counts_until_now() -> None:
    ari, clock = Ari(), Clock()
    talk = detection(ari, clock)
    asyncio.run(talk.start("c1", "c1"))
    assert ari.sets == [("c1", "TALK_DETECT(set)", "500,128")]
    talk.talking("c1", None)
    talk.talking("c1", 1.5)
    clock.now = 110.0
    talk.talking("c1", None)
    clock.now = 110.75
    assert talk.heard("c1") == 2.25
    asyncio.run(talk.stop("c1", "c1"))
    assert ari.sets[-1] == ("c1", "TALK_DETECT(remove)", "") and "c1" not in talk
    talk.talking("c1", 3.0)  # a late report for a call no longer listened to changes nothing
    assert talk.heard("c1") == 0.0


def test_asterisk_refusing_talk_detection_leaves_nothing_behind() -> None:
    talk = detection(Ari(refuse=True), Clock())
    try:
        asyncio.run(talk.start("c2", "c2"))
    except AriError:
        pass
    else:
        raise AssertionError("the refusal must reach the screener (it fails the screening open)")
    assert "c2" not in talk and len(talk) == 0
