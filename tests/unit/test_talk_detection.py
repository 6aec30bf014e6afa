"""Screening by sound energy (Asterisk's TALK_DETECT, set by the dialplan on every caller):
the seconds of sound a caller made, counted from Asterisk's reports."""

from __future__ import annotations

from ivr.adapters.speech.talk_detection import TalkDetection


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


def test_finished_talks_add_up_and_a_talk_going_on_counts_until_now() -> None:
    clock = Clock()
    talk = TalkDetection(clock)
    talk.talking("c1", 2.0)  # before screening started: not this call's screening
    talk.start("c1")
    talk.talking("c1", None)
    talk.talking("c1", 1.5)
    clock.now = 110.0
    talk.talking("c1", None)
    clock.now = 110.75
    assert talk.heard("c1") == 2.25
    talk.start("c1")  # started again (a fallback to energy): what was heard is kept
    assert talk.heard("c1") == 2.25
    talk.stop("c1")
    assert "c1" not in talk and len(talk) == 0
    talk.talking("c1", 3.0)  # a late report for a call no longer listened to changes nothing
    assert talk.heard("c1") == 0.0
