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
    talk.start("c1")
    talk.talking("c1", None)
    talk.talking("c1", 1.5)
    clock.now = 110.0
    talk.talking("c1", None)
    clock.now = 110.75
    assert talk.heard("c1") == 2.25
    talk.start("c1")  # started again (a fallback to energy): what was heard is kept
    assert talk.heard("c1") == 2.25


def test_a_caller_talking_since_before_screening_started_is_heard() -> None:
    # Asterisk reports talking from the answer; screening starts a moment later, and a
    # caller talking without a pause sends no other report until they stop.
    clock = Clock()
    talk = TalkDetection(clock)
    talk.talking("c1", None)
    clock.now = 101.0
    talk.start("c1")
    clock.now = 108.0
    assert talk.heard("c1") == 8.0


def test_after_screening_reports_are_ignored_until_the_call_ends() -> None:
    talk = TalkDetection(Clock())
    talk.start("c1")
    talk.talking("c1", 1.0)
    talk.stop("c1")
    assert "c1" not in talk
    talk.talking("c1", 3.0)  # the conversation with the call taker: not kept
    assert "c1" not in talk and talk.heard("c1") == 0.0
    talk.forget("c1")  # the call ended: nothing of it remains
    assert len(talk) == 0
