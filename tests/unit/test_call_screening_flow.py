# The screening inside a call's flow (ivr.core.call + ivr.core.call_screening), pure:
# listening starts at answer, the verdict comes budget seconds after the greeting, a line
# with no speech yet is heard on through the press-55 prompt and decided on all of it, the
# caller is never held back, "55" always lifts a call, and failures leave it as it was.
from __future__ import annotations

from dataclasses import replace

import pytest

from ivr.core import commands as cmd
from ivr.core import events as ev
from ivr.core.acd import events as acd
from ivr.core.call import Call, CallPolicy, Phase, handle, start
from ivr.core.call_screening import REPORT_SECONDS, SCREENING_BUDGET, SCREENING_REPORT, SILENT_RESPONSE
from ivr.core.call_state import Stage
from ivr.core.screening import Features, ScreeningPolicy

SCREEN = ScreeningPolicy(budget_seconds=6.0, report_timeout_seconds=3.0, silent_response_seconds=12.0)
POLICY = CallPolicy(screening=SCREEN)
CALL = "1795846476.9"
SPEECH = Features(speech_seconds=3.0, speech_segments=2, first_speech_delay=0.4)
SILENCE = Features()
MUSIC = Features(sound_seconds=8.0)
PRANKSTER = Features(speech_seconds=3.0, speech_segments=2, prank_reports=4)  # the call takers say so


def of(commands: list[cmd.Command], kind: type) -> list:
    return [c for c in commands if isinstance(c, kind)]


def answered(policy: CallPolicy = POLICY) -> tuple[Call, list[cmd.Command]]:
    call, _ = start(ev.CallArrived(CALL, "081299", "112"), 100.0, policy)
    return handle(call, ev.CallerAnswered(CALL), 101.0)


def waiting(policy: CallPolicy = POLICY) -> tuple[Call, list[cmd.Command]]:
    call, _ = answered(policy)
    return handle(call, ev.GreetingFinished(CALL), 108.0)


def reported(features: Features | None, error: str = "", call: Call | None = None) -> Result:
    if call is None:
        call, _ = waiting()
    call, _ = handle(call, ev.TimerFired(CALL, SCREENING_BUDGET), 114.0)
    return handle(call, ev.ScreeningReport(CALL, features, "", error), 114.2)


Result = tuple[Call, list[cmd.Command]]


def unanswered(call: Call, features: Features | None, error: str = "") -> Result:
    """Nobody answers the press-55 prompt: the screener is asked again and reports."""
    call, commands = handle(call, ev.TimerFired(CALL, SILENT_RESPONSE), 127.0)
    assert call.stage is Stage.RECHECKING and cmd.ReportScreening(CALL, 127.0 + REPORT_SECONDS) in commands
    assert not of(commands, cmd.ToAcd)  # nothing decided before the report
    return handle(call, ev.ScreeningReport(CALL, features, "", error), 127.2)


def test_listening_starts_at_answer_and_the_budget_when_the_greeting_ends() -> None:
    call, commands = answered()
    assert cmd.StartScreening(CALL, CALL, "081299") in commands
    assert call.stage is Stage.LISTENING
    call, commands = handle(call, ev.GreetingFinished(CALL), 108.0)
    # queued at once at its caller-rule level: screening never delays the caller
    assert cmd.ToAcd(acd.CallerQueued(CALL, "normal", arrived_at=100.0)) in commands
    assert cmd.StartTimer(CALL, SCREENING_BUDGET, 6.0) in commands
    call, commands = handle(call, ev.TimerFired(CALL, SCREENING_BUDGET), 114.0)
    assert commands == [
        cmd.CancelTimer(CALL, SCREENING_BUDGET),
        cmd.ReportScreening(CALL, 114.0 + REPORT_SECONDS),
        cmd.StartTimer(CALL, SCREENING_REPORT, 3.0),
    ]


def test_the_verdict_is_due_when_the_greeting_ended_plus_the_budget_however_late_the_timer() -> None:
    """A busy machine fires the budget's timer late: the report keeps its due time, so the
    screener waits less for speech detection instead of making the caller's verdict later."""
    call, _ = waiting()  # the greeting ended at 108.0; the budget is 6 s
    _, commands = handle(call, ev.TimerFired(CALL, SCREENING_BUDGET), 114.15)
    assert of(commands, cmd.ReportScreening) == [cmd.ReportScreening(CALL, 114.0 + REPORT_SECONDS)]


def test_with_no_budget_the_report_is_asked_when_the_greeting_ends_and_due_after_it() -> None:
    call, _ = answered(CallPolicy(screening=ScreeningPolicy()))  # the defaults: no budget
    call, commands = handle(call, ev.GreetingFinished(CALL), 108.0)
    assert cmd.ToAcd(acd.CallerQueued(CALL, "normal", arrived_at=100.0)) in commands  # never held back
    assert of(commands, cmd.ReportScreening) == [cmd.ReportScreening(CALL, 108.0 + REPORT_SECONDS)]
    assert call.stage is Stage.DECIDING
    assert not [c for c in of(commands, cmd.StartTimer) if c.name == SCREENING_BUDGET]


def test_no_screening_configured_means_no_listening() -> None:
    call, commands = waiting(CallPolicy())
    assert not of(commands, cmd.StartScreening) and call.stage is Stage.OFF
    assert not [c for c in commands if isinstance(c, cmd.StartTimer) and c.name == SCREENING_BUDGET]


def test_speech_keeps_the_normal_level_and_is_recorded() -> None:
    call, commands = reported(SPEECH)
    assert call.verdict == "normal" and call.level == "normal"
    assert not of(commands, cmd.ToAcd)  # same level: no move in the queue
    (record,) = of(commands, cmd.RecordScreening)
    assert record.verdict == "normal" and record.features["speech_seconds"] == "3.00"
    assert cmd.CancelTimer(CALL, SCREENING_REPORT) in commands


def test_music_alone_gets_the_press_55_prompt_never_the_warning() -> None:
    """Sound without speech (music, hum, a phone in a pocket) is no evidence of a prank."""
    call, commands = reported(MUSIC)
    assert call.stage is Stage.SILENT_PROMPT and "sound-no-speech" in call.flags
    assert cmd.PlayPrompt(CALL, f"{CALL}-silent", SCREEN.silent_prompt_media) in commands
    assert not [c for c in of(commands, cmd.PlayPrompt) if c.media == SCREEN.warning_media]
    assert not of(commands, cmd.ToAcd) and not of(commands, cmd.Hangup)  # not moved down yet
    (record,) = of(commands, cmd.RecordScreening)
    assert record.cues == ("sound without speech 8.0 s",)
    assert not of(commands, cmd.StopScreening)  # heard on while the prompt plays
    call, later = unanswered(call, MUSIC)
    (record,) = of(later, cmd.RecordScreening)  # the evidence grows with the prompt's outcome
    assert record.cues == ("sound without speech 8.0 s", "no response to the silent-call prompt")
    assert cmd.StopScreening(CALL) in later


def test_the_verdict_is_on_the_record_before_the_timeline_says_screened() -> None:
    """A reader who sees "screened" on the timeline finds the verdict on the call's record."""
    _, commands = reported(SPEECH)
    screened = next(
        i for i, c in enumerate(commands) if isinstance(c, cmd.RecordTimeline) and c.entry == "screened"
    )
    assert commands.index(of(commands, cmd.RecordScreening)[0]) < screened, commands


def test_a_whisper_heard_only_by_the_second_cue_gets_the_prompt_and_stays_normal() -> None:
    call, commands = reported(Features(cue_speech_seconds=1.2, sound_seconds=2.0))
    assert call.stage is Stage.SILENT_PROMPT and "possible-voice" in call.flags
    assert cmd.PlayPrompt(CALL, f"{CALL}-silent", SCREEN.silent_prompt_media) in commands
    call, later = unanswered(call, Features(cue_speech_seconds=1.2, sound_seconds=2.0))
    assert call.level == "normal" and not of(later, cmd.ToAcd)  # never moved down
    (record,) = of(later, cmd.RecordScreening)
    assert record.level == "normal" and "possible-voice" in record.flags


def test_silence_runs_the_press_55_procedure_before_any_demotion() -> None:
    call, commands = reported(SILENCE)
    assert call.stage is Stage.SILENT_PROMPT
    assert cmd.PlayPrompt(CALL, f"{CALL}-silent", SCREEN.silent_prompt_media) in commands
    assert cmd.StartTimer(CALL, SILENT_RESPONSE, 12.0) in commands
    assert not of(commands, cmd.ToAcd)  # not moved down until the caller had the chance to answer
    return_call, later = unanswered(call, SILENCE)
    assert return_call.verdict == "silent" and "silent" in return_call.flags
    assert cmd.ToAcd(acd.CallerReprioritized(CALL, "silent")) in later


def test_a_caller_who_speaks_only_after_the_greeting_is_normal_when_the_prompt_ends() -> None:
    call, _ = reported(SILENCE)  # said nothing during the greeting
    call, later = unanswered(call, SPEECH)  # ... and spoke after it
    assert call.verdict == "normal" and call.level == "normal" and not of(later, cmd.ToAcd)
    assert cmd.StopScreening(CALL) in later


def test_a_whisper_only_after_the_greeting_keeps_the_normal_level() -> None:
    call, _ = reported(MUSIC)
    call, later = unanswered(call, Features(sound_seconds=8.0, cue_speech_seconds=0.6))
    assert call.verdict == "silent" and call.level == "normal" and "possible-voice" in call.flags
    assert not of(later, cmd.ToAcd)


def test_what_was_heard_before_the_prompt_still_counts_if_the_second_report_is_late() -> None:
    call, _ = reported(Features(cue_speech_seconds=1.2, sound_seconds=2.0))
    call, _ = handle(call, ev.TimerFired(CALL, SILENT_RESPONSE), 127.0)
    call, commands = handle(call, ev.TimerFired(CALL, SCREENING_REPORT), 130.0)
    assert call.verdict == "silent" and call.level == "normal" and cmd.StopScreening(CALL) in commands
    assert handle(call, ev.ScreeningReport(CALL, SILENCE), 131.0) == (call, [])  # too late: ignored


def test_a_heard_caller_is_decided_at_the_greetings_end_and_listening_stops() -> None:
    call, commands = reported(SPEECH)
    assert call.stage is Stage.DONE and cmd.StopScreening(CALL) in commands


def test_55_after_the_silent_prompt_is_a_flagged_silent_emergency_at_the_top() -> None:
    call, _ = reported(SILENCE)
    call, _ = handle(call, ev.CallerDtmf(CALL, "5"), 118.0)
    call, commands = handle(call, ev.CallerDtmf(CALL, "5"), 118.3)
    assert call.verdict == "silent-emergency" and "silent-emergency" in call.flags
    assert cmd.ToAcd(acd.CallerReprioritized(CALL, "emergency")) in commands
    assert cmd.CancelTimer(CALL, SILENT_RESPONSE) in commands
    assert handle(call, ev.TimerFired(CALL, SILENT_RESPONSE), 127.0) == (call, [])


def test_55_while_listening_ends_the_listening_at_once_and_wins() -> None:
    call, _ = answered()
    call, _ = handle(call, ev.CallerDtmf(CALL, "5"), 102.0)
    call, commands = handle(call, ev.CallerDtmf(CALL, "5"), 102.2)
    assert cmd.ReportScreening(CALL, 102.2 + REPORT_SECONDS) in commands and call.stage is Stage.DECIDING
    call, commands = handle(call, ev.ScreeningReport(CALL, SILENCE), 102.4)
    assert call.verdict == "emergency" and "silent-emergency" in call.flags
    assert call.level == "emergency" and not of(commands, cmd.ToAcd)  # still in the greeting
    call, commands = handle(call, ev.GreetingFinished(CALL), 108.0)
    assert cmd.ToAcd(acd.CallerQueued(CALL, "emergency", arrived_at=100.0)) in commands


def test_55_beats_a_prank_verdict_while_waiting() -> None:
    call, _ = reported(PRANKSTER)
    assert call.verdict == "prank"
    call, _ = handle(call, ev.CallerDtmf(CALL, "5"), 120.0)
    call, commands = handle(call, ev.CallerDtmf(CALL, "5"), 120.2)
    assert call.verdict == "emergency" and call.level == "emergency"
    assert cmd.ToAcd(acd.CallerReprioritized(CALL, "emergency")) in commands


def test_other_digits_change_nothing_but_the_timeline() -> None:
    call, _ = reported(SPEECH)
    after, commands = handle(call, ev.CallerDtmf(CALL, "1"), 120.0)
    assert after.level == "normal" and [c.entry for c in of(commands, cmd.RecordTimeline)] == ["dtmf"]
    assert len(commands) == 1


@pytest.mark.parametrize(
    ("step", "reason"),
    [
        (ev.ScreeningReport(CALL, None, "", "recognizer crashed"), "recognizer crashed"),
        (ev.TimerFired(CALL, SCREENING_REPORT), "no result within 3 s"),
    ],
)
def test_a_failed_or_late_screening_keeps_the_level_with_the_reason(step: ev.CallEvent, reason: str) -> None:
    call, _ = waiting()
    call, _ = handle(call, ev.TimerFired(CALL, SCREENING_BUDGET), 114.0)
    call, commands = handle(call, step, 117.5)
    assert call.level == "normal" and "unscreened" in call.flags and call.stage is Stage.DONE
    (record,) = of(commands, cmd.RecordScreening)
    assert reason in record.reason
    assert not of(commands, cmd.ToAcd) and not of(commands, cmd.PlayPrompt)
    assert handle(call, ev.ScreeningReport(CALL, MUSIC), 118.0) == (call, [])  # too late to count


def test_a_screener_that_cannot_start_leaves_the_caller_rule_level() -> None:
    call, _ = start(ev.CallArrived(CALL, "04013121", "112", level="emergency"), 100.0, POLICY)
    call, _ = handle(call, ev.CallerAnswered(CALL), 101.0)
    call, commands = handle(call, ev.CommandFailed(CALL, "StartScreening", "no RTP port free"), 101.1)
    assert call.level == "emergency" and "unscreened" in call.flags
    call, commands = handle(call, ev.GreetingFinished(CALL), 108.0)
    assert not [c for c in commands if isinstance(c, cmd.StartTimer) and c.name == SCREENING_BUDGET]


def test_answer_during_listening_stops_it_and_the_verdict_is_only_recorded() -> None:
    call, _ = waiting()
    call, _ = handle(call, ev.TakerAssigned(CALL, "taker01", "PJSIP/taker01"), 109.0)
    call, commands = handle(call, ev.TakerAnswered(CALL, f"{CALL}-t1"), 111.0)
    assert cmd.ReportScreening(CALL, 111.0 + REPORT_SECONDS) in commands and call.phase is Phase.CONNECTING
    call, commands = handle(call, ev.ScreeningReport(CALL, SILENCE), 111.2)
    assert call.verdict == "silent" and not of(commands, cmd.PlayPrompt) and not of(commands, cmd.ToAcd)
    (record,) = of(commands, cmd.RecordScreening)
    assert record.level == "silent" and record.reason == "no speech before a call taker answered"


def test_a_call_taker_answering_during_the_greeting_leaves_listening_on_then_records_the_verdict() -> None:
    call, _ = answered()
    call, _ = handle(call, ev.TakerAssigned(CALL, "taker01", "PJSIP/taker01"), 101.0)  # a taker was free
    call, commands = handle(call, ev.TakerAnswered(CALL, f"{CALL}-t1"), 102.0)
    assert call.stage is Stage.LISTENING and not of(commands, cmd.ReportScreening)
    assert cmd.StartTimer(CALL, SCREENING_BUDGET, SCREEN.listen_after_answer_seconds) in commands
    assert not of(commands, cmd.StopScreening)
    call, commands = handle(call, ev.TimerFired(CALL, SCREENING_BUDGET), 107.0)
    assert cmd.ReportScreening(CALL, 107.0 + REPORT_SECONDS) in commands
    call, commands = handle(call, ev.ScreeningReport(CALL, PRANKSTER), 107.2)
    assert call.verdict == "prank" and call.phase is Phase.CONNECTING
    assert of(commands, cmd.RecordScreening) and cmd.StopScreening(CALL) in commands
    assert not of(commands, cmd.PlayPrompt) and not of(commands, cmd.ToAcd)  # only on the record


def test_a_whisper_heard_after_the_answer_is_recorded_at_normal() -> None:
    call, _ = waiting()
    call, _ = handle(call, ev.TakerAssigned(CALL, "taker01", "PJSIP/taker01"), 109.0)
    call, _ = handle(call, ev.TakerAnswered(CALL, f"{CALL}-t1"), 111.0)
    call, commands = handle(call, ev.ScreeningReport(CALL, Features(cue_speech_seconds=1.0)), 111.2)
    (record,) = of(commands, cmd.RecordScreening)
    assert record.level == "normal" and {"silent", "possible-voice"} <= set(record.flags)
    assert not of(commands, cmd.PlayPrompt)


@pytest.mark.parametrize(("features", "prompt"), [(PRANKSTER, "warning"), (MUSIC, "silent")])
def test_answer_stops_a_screening_prompt(features: Features, prompt: str) -> None:
    call, _ = reported(features)
    call, _ = handle(call, ev.TakerAssigned(CALL, "taker01", "PJSIP/taker01"), 115.0)
    call, commands = handle(call, ev.TakerAnswered(CALL, f"{CALL}-t1"), 116.0)
    assert cmd.StopPrompt(f"{CALL}-{prompt}") in commands


@pytest.mark.parametrize(
    ("verdict", "flags", "label"),
    [
        ("emergency", frozenset({"silent-emergency"}), "112 DARURAT SENYAP"),
        ("emergency", frozenset(), "112 DARURAT"),
        ("silent", frozenset({"silent"}), "112 SENYAP"),
        ("prank", frozenset({"prank-suspected"}), "112 DIDUGA ISENG"),
        ("normal", frozenset({"unscreened"}), "112"),
    ],
)
def test_the_call_taker_phone_shows_the_verdict(verdict: str, flags: frozenset[str], label: str) -> None:
    call, _ = waiting()
    call = replace(call, verdict=verdict, flags=flags)
    _, commands = handle(call, ev.TakerAssigned(CALL, "taker01", "PJSIP/taker01"), 115.0)
    (offer,) = of(commands, cmd.OfferToTaker)
    assert offer.caller_name == label


BLOCKED = Features(speech_seconds=3.0, speech_segments=1, blocked=True)


def test_a_blocked_number_hears_the_warning_then_the_call_ends_as_blocked() -> None:
    call, commands = reported(BLOCKED)
    assert call.verdict == "blocked" and call.stage is Stage.BLOCKING
    assert cmd.PlayPrompt(CALL, f"{CALL}-blocked", SCREEN.warning_media) in commands
    assert not of(commands, cmd.Hangup)  # still queued while the warning plays
    ended, commands = handle(call, ev.ScreeningPromptFinished(CALL, f"{CALL}-blocked"), 120.0)
    assert ended.phase is Phase.ENDED and ended.outcome is not None and ended.outcome.value == "blocked"
    assert cmd.ToAcd(acd.CallerLeft(CALL)) in commands and cmd.Hangup(CALL) in commands


def test_55_during_the_block_warning_lifts_the_block() -> None:
    call, _ = reported(BLOCKED)
    call, _ = handle(call, ev.CallerDtmf(CALL, "5"), 116.0)
    call, commands = handle(call, ev.CallerDtmf(CALL, "5"), 116.2)
    assert call.verdict == "emergency" and call.stage is Stage.DONE
    assert cmd.StopPrompt(f"{CALL}-blocked") in commands
    assert cmd.ToAcd(acd.CallerReprioritized(CALL, "emergency")) in commands
    after, commands = handle(call, ev.ScreeningPromptFinished(CALL, f"{CALL}-blocked"), 117.0)
    assert after.phase is Phase.WAITING and commands == []


def test_a_call_taker_answering_during_the_block_warning_keeps_the_call() -> None:
    call, _ = reported(BLOCKED)
    call, _ = handle(call, ev.TakerAssigned(CALL, "taker01", "PJSIP/taker01"), 115.0)
    call, commands = handle(call, ev.TakerAnswered(CALL, f"{CALL}-t1"), 116.0)
    assert cmd.StopPrompt(f"{CALL}-blocked") in commands and call.stage is Stage.DONE
    after, commands = handle(call, ev.ScreeningPromptFinished(CALL, f"{CALL}-blocked"), 117.0)
    assert after.phase is Phase.CONNECTING and commands == []


def pinned_waiting(level: str) -> Call:
    call, _ = start(ev.CallArrived(CALL, "04013121", "112", level=level, pinned=True), 100.0, POLICY)
    call, _ = handle(call, ev.CallerAnswered(CALL), 101.0)
    call, _ = handle(call, ev.GreetingFinished(CALL), 108.0)
    return call


@pytest.mark.parametrize(
    ("level", "features"), [("emergency", MUSIC), ("emergency", SPEECH), ("low", SPEECH)]
)
def test_a_caller_rule_level_is_kept_whatever_the_verdict(level: str, features: Features) -> None:
    call, commands = reported(features, call=pinned_waiting(level))
    assert call.level == level and not of(commands, cmd.ToAcd)
    warned = [c for c in of(commands, cmd.PlayPrompt) if c.media == SCREEN.warning_media]
    assert not warned  # a hospital line playing music is never warned (at most asked to press 55)
    assert of(commands, cmd.RecordScreening)[0].verdict == call.verdict


def test_a_caller_rule_level_is_still_raised_by_55() -> None:
    call = pinned_waiting("low")
    call, _ = handle(call, ev.CallerDtmf(CALL, "5"), 109.0)
    call, commands = handle(call, ev.CallerDtmf(CALL, "5"), 109.2)
    call, commands = handle(call, ev.ScreeningReport(CALL, SPEECH), 109.4)
    assert call.level == "emergency"
    assert cmd.ToAcd(acd.CallerReprioritized(CALL, "emergency")) in commands
