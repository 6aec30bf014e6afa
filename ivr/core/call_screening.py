"""The screening part of a call's flow: listening, the verdict, the press-55 procedure.

Rules:
- Screening never holds a caller back. The caller is queued when the greeting ends, at
  the level the caller rules give; a verdict only moves the caller within the queue
  (CallerReprioritized), and only while the caller still waits (WAITING, OFFERED).
  A verdict reached during the greeting sets the level the caller is queued at; one
  that arrives after a call taker answered is only recorded.
- Listening starts at answer (callers talk over the greeting); budget_seconds after the
  greeting (at once by default) the screener is asked what it heard, due REPORT_SECONDS
  later (the screener leaves out what is not measured by then; the core gives up after
  report_timeout_seconds), so the verdict is there when the caller starts to wait. A
  caller heard speaking, or known by reputation, is decided then and listening stops. A
  caller with no speech yet gets the press-55 prompt and listening goes on: when nobody
  answers the prompt, the screener reports again and the caller is decided on everything
  heard since answer (a caller who spoke only after the greeting is normal, a whisper
  keeps the normal level).
- "55" pressed at any moment before a call taker answers makes the call an emergency:
  while listening it ends the listening at once, after the press-55 prompt it makes a
  silent emergency, later it lifts the caller to the emergency level.
- Fail open: a screener that cannot start, errs or does not report in time leaves the
  level as it is, with the reason recorded (flag "unscreened").
- A caller whose level a caller rule set (a hospital, a police post: "pinned") keeps it:
  only an emergency verdict raises it; such a caller is never warned nor blocked.
- Prompts (press-55, prank warning) play only to a caller still waiting; they stop the
  moment a call taker answers (on_taker_answered).
- A call taker who answers during the greeting (offered at once) does not cut the
  listening short: it goes on for listen_after_answer_seconds, then the verdict goes on
  the record and the taker's desk (never a prompt, never a move in the queue).
- Every key the caller presses is counted; the first KEYS_LISTED get a 'dtmf' entry
  each, then one 'dtmf-not-listed' entry (a flood of keys cannot swell the record); the
  digits kept for "55" are separate (MAX_DIGITS), so "55" works after the cap.
- A blocked number (time-limited block, off unless the centre enables it) hears the
  warning and the call ends when the warning finishes, with outcome "blocked"; it
  stays queued until then, so "55" or a call taker answering first still wins.
"""

from __future__ import annotations

from dataclasses import asdict, replace

from ivr.core import commands as cmd
from ivr.core import events as ev
from ivr.core import ids
from ivr.core.acd import events as acd
from ivr.core.call_state import (
    Call,
    Phase,
    Result,
    Stage,
    Transition,
    end,
    keys_noted,
    on,
    on_failure,
    on_timer,
    timeline,
)
from ivr.core.outcomes import Outcome
from ivr.core.screening import (
    Decision,
    Features,
    ScreeningPolicy,
    Verdict,
    after_silent_prompt,
    decide,
    failed,
)

SCREENING_BUDGET = "screening-budget"
SCREENING_REPORT = "screening-report"
SILENT_RESPONSE = "silent-response"
MAX_DIGITS = 16  # DTMF kept per call; "55" only needs the last two
# After the listening budget, the time a report has: speech detection's answer and the
# report's way back. With no budget (the default) the verdict is due 0.3 s after the greeting.
REPORT_SECONDS = 0.3

WAITING_PHASES = frozenset({Phase.WAITING, Phase.OFFERED})
BEFORE_ANSWER = frozenset({Phase.GREETING, *WAITING_PHASES})
EMERGENCY_VERDICTS = frozenset({Verdict.EMERGENCY.value, Verdict.SILENT_EMERGENCY.value})


def _policy(call: Call) -> ScreeningPolicy:
    return call.policy.screening or ScreeningPolicy()  # "55" works even with screening off


def begin(call: Call, now: float) -> Result:
    """At answer: start listening, if this centre screens calls."""
    if call.policy.screening is None:
        return call, []
    return replace(call, stage=Stage.LISTENING), [
        cmd.StartScreening(call.call_id, call.call_id, call.caller_number),
        timeline(call, "screening-started", now),
    ]


def greeting_over(call: Call, now: float) -> Result:
    """When the greeting ends (or fails): the report is asked now, or when the listening
    budget is over, and due REPORT_SECONDS after that, counted from now (a late timer
    does not make it later)."""
    if call.stage is not Stage.LISTENING:
        return call, []
    budget = _policy(call).budget_seconds
    due = replace(call, report_due=now + budget + REPORT_SECONDS)
    if budget <= 0:
        return _finish_listening(due, [], now)
    return due, [cmd.StartTimer(call.call_id, SCREENING_BUDGET, budget)]


def on_taker_answered(call: Call, now: float) -> Result:
    """A call taker answered: stop the prompts; what was heard still becomes the record."""
    commands: list[cmd.Command] = []
    if call.screen_prompt is not None:
        commands.append(cmd.StopPrompt(call.screen_prompt))
    call = replace(call, screen_prompt=None)
    if call.stage is Stage.BLOCKING:
        return replace(call, stage=Stage.DONE), commands  # a person took it: the block does not apply
    if call.stage is Stage.LISTENING and call.greeting_on:  # answered at once: listen on
        listen = _policy(call).listen_after_answer_seconds
        return call, [*commands, cmd.StartTimer(call.call_id, SCREENING_BUDGET, listen)]
    if call.stage is Stage.LISTENING:
        return _finish_listening(call, commands, now)
    if call.stage is Stage.SILENT_PROMPT:
        commands += [cmd.CancelTimer(call.call_id, SILENT_RESPONSE), cmd.StopScreening(call.call_id)]
        decision = after_silent_prompt(call.digits, _policy(call), call.flags)
        evidence = _evidence(call, decision)
        done = replace(
            call, stage=Stage.DONE, verdict=decision.verdict.value, flags=decision.flags, cues=evidence
        )
        return done, [*commands, _record(call, decision, call.level, evidence)]
    return call, commands


def _finish_listening(
    call: Call, commands: list[cmd.Command], now: float, stage: Stage = Stage.DECIDING
) -> Result:
    """Ask for the report, due REPORT_SECONDS from now, or sooner when greeting_over set it
    sooner (the budget's timer fired late); a recheck after the press-55 prompt is a new one."""
    due = now + REPORT_SECONDS
    if stage is Stage.DECIDING and call.report_due > 0:
        due = min(due, call.report_due)
    return replace(call, stage=stage), [
        *commands,
        cmd.CancelTimer(call.call_id, SCREENING_BUDGET),
        cmd.ReportScreening(call.call_id, due),
        cmd.StartTimer(call.call_id, SCREENING_REPORT, _policy(call).report_timeout_seconds),
    ]


# ---- handlers ----------------------------------------------------------------------------


def _budget_over(call: Call, event: ev.CallEvent, now: float) -> Result:
    if call.stage is not Stage.LISTENING:
        return call, []
    return _finish_listening(call, [], now)


def _report(call: Call, event: ev.CallEvent, now: float) -> Result:
    assert isinstance(event, ev.ScreeningReport)
    if call.stage not in (Stage.DECIDING, Stage.RECHECKING):
        return call, []  # late: the call already went on unscreened
    policy = _policy(call)
    cancel = cmd.CancelTimer(call.call_id, SCREENING_REPORT)
    if event.features is None:
        updated, commands = _apply(call, failed(event.error or "no features", policy), now)
        return updated, [cancel, cmd.StopScreening(call.call_id), *commands]
    features = replace(event.features, dtmf=call.digits)
    decision = decide(features, policy)
    if decision.verdict is Verdict.SILENT_PENDING and call.stage is Stage.RECHECKING:
        # the prompt went unanswered: decided on all that was heard, and what was before
        unanswered = after_silent_prompt(call.digits, policy, decision.flags | call.flags)
        decision = replace(unanswered, cues=(*decision.cues, *unanswered.cues))  # what was heard since
    elif decision.verdict is Verdict.SILENT_PENDING and call.phase not in BEFORE_ANSWER:
        # a call taker is on the line: no prompt, decided as if it went unanswered
        why = "no speech before a call taker answered"
        unanswered = after_silent_prompt("", policy, decision.flags)
        decision = replace(unanswered, reason=why, cues=(*decision.cues, why))
    updated, commands = _apply(call, decision, now, features, event.transcript)
    listening = [] if updated.stage is Stage.SILENT_PROMPT else [cmd.StopScreening(call.call_id)]
    return updated, [cancel, *commands, *listening]


def _report_late(call: Call, event: ev.CallEvent, now: float) -> Result:
    if call.stage not in (Stage.DECIDING, Stage.RECHECKING):
        return call, []
    policy = _policy(call)
    if call.stage is Stage.RECHECKING:  # decided on what was heard before the prompt
        updated, commands = _apply(call, after_silent_prompt(call.digits, policy, call.flags), now)
        return updated, [cmd.StopScreening(call.call_id), *commands]
    decision = failed(f"no result within {policy.report_timeout_seconds:g} s", policy)
    updated, commands = _apply(call, decision, now)
    return updated, [cmd.StopScreening(call.call_id), *commands]


def _start_failed(call: Call, event: ev.CallEvent, now: float) -> Result:
    assert isinstance(event, ev.CommandFailed)
    return _apply(call, failed(event.reason, _policy(call)), now)


def _dtmf(call: Call, event: ev.CallEvent, now: float) -> Result:
    assert isinstance(event, ev.CallerDtmf)
    digits = (call.digits + event.digit)[-MAX_DIGITS:]
    pressed = replace(call, digits=digits, dtmf_count=call.dtmf_count + 1)
    note = keys_noted(call, "dtmf", pressed.dtmf_count, now, digit=event.digit)  # capped: a flood
    policy = _policy(call)
    if not digits.endswith(policy.emergency_code):
        return pressed, note
    if pressed.stage is Stage.LISTENING:
        return _finish_listening(pressed, note, now)
    if pressed.stage is Stage.DECIDING:
        return pressed, note  # the report is due; it is decided with these digits
    if pressed.stage in (Stage.SILENT_PROMPT, Stage.RECHECKING):
        updated, commands = _apply(pressed, after_silent_prompt(digits, policy, call.flags), now)
        timers = [cmd.CancelTimer(call.call_id, name) for name in (SILENT_RESPONSE, SCREENING_REPORT)]
        return updated, [*note, *timers, cmd.StopScreening(call.call_id), *commands]
    if pressed.verdict in EMERGENCY_VERDICTS:
        return pressed, note
    if pressed.stage is Stage.BLOCKING and pressed.screen_prompt is not None:
        note_stop: list[cmd.Command] = [*note, cmd.StopPrompt(pressed.screen_prompt)]
        pressed = replace(pressed, stage=Stage.DONE, screen_prompt=None)
    else:
        note_stop = note
    decision = Decision(
        Verdict.EMERGENCY, policy.level(Verdict.EMERGENCY), "pressed 55 while waiting",
        flags=frozenset({"pressed-55"}), cues=("pressed 55 while waiting",),
    )  # fmt: skip
    updated, commands = _apply(pressed, decision, now)
    return updated, [*note_stop, *commands]


def _prompt_finished(call: Call, event: ev.CallEvent, now: float) -> Result:
    """The warning to a blocked number ended: so does the call."""
    assert isinstance(event, ev.ScreeningPromptFinished)
    if call.stage is not Stage.BLOCKING or event.playback_id != call.screen_prompt:
        return call, []
    leg = [cmd.Hangup(call.taker_channel)] if call.taker_channel else []
    after_greeting = call.phase is not Phase.GREETING
    left = [cmd.ToAcd(acd.CallerLeft(call.call_id))] if after_greeting else []
    return end(call, Outcome.BLOCKED, now, "system", *leg, *left, cmd.Hangup(call.call_id))


def _silent_timeout(call: Call, event: ev.CallEvent, now: float) -> Result:
    """Nobody answered the press-55 prompt: ask the screener what it heard since."""
    if call.stage is not Stage.SILENT_PROMPT:
        return call, []
    return _finish_listening(call, [], now, Stage.RECHECKING)


# ---- applying a decision -----------------------------------------------------------------


def _apply(
    call: Call, decision: Decision, now: float, features: Features | None = None, transcript: str = ""
) -> Result:
    policy = _policy(call)
    silent_prompt = decision.verdict is Verdict.SILENT_PENDING and call.phase in BEFORE_ANSWER
    blocking = decision.verdict is Verdict.BLOCKED and call.phase in BEFORE_ANSWER and not call.pinned
    # unscreened: as it was; silent pending: not moved down before the caller could press 55;
    # pinned by a caller rule: only an emergency raises it
    pinned = call.pinned and decision.verdict.value not in EMERGENCY_VERDICTS
    keep = "unscreened" in decision.flags or silent_prompt or pinned
    level = call.level if keep else decision.level
    evidence = _evidence(call, decision)
    updated = replace(
        call,
        stage=Stage.SILENT_PROMPT if silent_prompt else Stage.BLOCKING if blocking else Stage.DONE,
        verdict=decision.verdict.value,
        flags=decision.flags,
        level=level,
        cues=evidence,
    )
    commands: list[cmd.Command] = [  # the verdict is on the record before the timeline says so
        _record(call, decision, level, evidence, features, transcript),
        timeline(call, "screened", now, verdict=decision.verdict.value, reason=decision.reason, level=level),
    ]
    if call.phase in WAITING_PHASES and level != call.level:
        commands.append(cmd.ToAcd(acd.CallerReprioritized(call.call_id, level)))
    if call.phase in BEFORE_ANSWER:
        if decision.warn and not call.pinned:
            prompt = ids.screening_prompt_id(call.call_id, "blocked" if blocking else "warning")
            updated = replace(updated, screen_prompt=prompt)
            commands.append(cmd.PlayPrompt(call.call_id, prompt, policy.warning_media))
        if silent_prompt:
            updated = replace(updated, screen_prompt=ids.screening_prompt_id(call.call_id, "silent"))
            commands += [
                cmd.PlayPrompt(call.call_id, updated.screen_prompt or "", policy.silent_prompt_media),
                cmd.StartTimer(call.call_id, SILENT_RESPONSE, policy.silent_response_seconds),
            ]
    return updated, commands


def _evidence(call: Call, decision: Decision) -> tuple[str, ...]:
    """The cues so far and this decision's (the silent-call prompt adds to what was heard)."""
    return tuple(dict.fromkeys((*call.cues, *decision.cues)))


def _record(
    call: Call,
    decision: Decision,
    level: str,
    evidence: tuple[str, ...],
    features: Features | None = None,
    transcript: str = "",
) -> cmd.RecordScreening:
    measured = {k: _text(v) for k, v in asdict(features).items()} if features is not None else {}
    return cmd.RecordScreening(
        call.call_id,
        decision.verdict.value,
        level,
        decision.reason,
        decision.flags,
        measured,
        transcript,
        evidence,
    )


def _text(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, tuple):
        return " ".join(str(v) for v in value)
    return "" if value is None else str(value)


# ---- table entries (merged into ivr.core.call.TRANSITIONS) --------------------------------


def before_answer_events(phase: Phase) -> dict[str, Transition]:
    return {
        on(ev.CallerDtmf): Transition(_dtmf, ()),
        on(ev.ScreeningReport): Transition(_report, ()),
        on_timer(SCREENING_BUDGET): Transition(_budget_over, ()),
        on_timer(SCREENING_REPORT): Transition(_report_late, ()),
        on_timer(SILENT_RESPONSE): Transition(_silent_timeout, ()),
        on_failure(cmd.StartScreening): Transition(_start_failed, ()),
        on(ev.ScreeningPromptFinished): Transition(_prompt_finished, (phase, Phase.ENDED)),
    }


AFTER_ANSWER_EVENTS: dict[str, Transition] = {
    on_timer(SCREENING_BUDGET): Transition(_budget_over, ()),
    on(ev.ScreeningReport): Transition(_report, ()),
    on_timer(SCREENING_REPORT): Transition(_report_late, ()),
}
