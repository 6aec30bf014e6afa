"""Screening decisions: what the first seconds of a call say about it.

Pure: features measured by the adapters (Silero VAD and a second, cheap speech cue for
what Silero misses, Vosk keywords, DTMF, the caller's reputation) in, a verdict with a
priority level and the cues that decided it out. The rules, in order, first match wins
(RULES is the table; the docs list it):

1. "55" pressed                    -> emergency (flagged silent-emergency if nobody spoke)
2. emergency keywords recognised   -> emergency (only when the model supports keywords,
                                      and only with speech: recognizers hear words in music)
3. number under a time-limited block (only when the centre enables blocking; set by a
   supervisor or after many prank verdicts, always with an expiry and an audit trail)
                                   -> blocked: recorded warning, then the call ends,
                                      unless the caller presses 55 or a call taker answers first
4. number with repeated prank verdicts from call takers (more prank than genuine)
                                   -> prank: recorded warning, lowest level
5. Silero heard speech              -> normal
6. no speech (silence, or sound without speech: music, noise, hum, rustle, DTMF only)
                                   -> the silent-call procedure: a prompt asks the caller
                                      to press 5 twice; "55" -> silent emergency at the top
                                      level; no answer -> flagged "silent" for the call taker
                                      and queued at the silent level, unless the second
                                      speech cue heard voice-like sound (a whisper, a quiet
                                      or short word) or Silero half the speech it needs
                                      (flag "possible-voice"): then the caller keeps the
                                      normal level
Rules kept: a caller is warned and put at the lowest level only on positive evidence (the
call takers' verdicts on the number, an active block), never on audio alone: a whisper, a
phone in a pocket or a line full of hum is someone who may need help; emergency signals
always beat reputation (a repeat prankster may one day be in danger); any error, timeout
or missing model gives a normal call with the reason recorded (fail open). A verdict only
reorders the queue: nobody is refused or delayed. Every decision names the cues that
fired (cues()), kept on the record for the supervisor and shown on the desk.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class Verdict(StrEnum):
    EMERGENCY = "emergency"
    NORMAL = "normal"
    PRANK = "prank"
    SILENT_PENDING = "silent-pending"  # run the press-55 procedure, then after_silent_prompt()
    SILENT_EMERGENCY = "silent-emergency"
    SILENT = "silent"
    BLOCKED = "blocked"  # warning, then the call ends (time-limited block, off by default)


@dataclass(frozen=True)
class ScreeningPolicy:
    min_speech_seconds: float = 0.3  # Silero speech: less is a cough or a click
    min_cue_speech_seconds: float = 0.12  # the second cue's voice-like sound: a short word, not a click
    min_sound_seconds: float = 1.5  # sound without speech this long is flagged for the call taker
    prank_reports_to_suspect: int = 3  # call-taker prank verdicts for the number, in the window
    emergency_code: str = "55"
    levels: dict[Verdict, str] | None = None  # verdict -> priority level name; defaults below
    # after the greeting ends, the report on what was heard is asked (listening goes on if
    # silent); the verdict is due 0.3 s (call_screening.REPORT_SECONDS) after the asking
    budget_seconds: float = 0.0
    # a caller answered by a call taker during the greeting is listened to this long after
    listen_after_answer_seconds: float = 5.0
    report_timeout_seconds: float = 3.0  # the screener must answer this soon, or the call is unscreened
    silent_response_seconds: float = 12.0  # from the start of the press-55 prompt
    silent_prompt_media: str = "sound:ivr112/silent-call"
    warning_media: str = "sound:ivr112/prank-warning"

    def level(self, verdict: Verdict) -> str:
        return (self.levels or DEFAULT_LEVELS)[verdict]


DEFAULT_LEVELS = {
    Verdict.EMERGENCY: "emergency",
    Verdict.SILENT_EMERGENCY: "emergency",
    Verdict.NORMAL: "normal",
    Verdict.SILENT: "silent",
    Verdict.SILENT_PENDING: "silent",
    Verdict.PRANK: "low",
    Verdict.BLOCKED: "low",
}


@dataclass(frozen=True)
class Features:
    speech_seconds: float = 0.0  # Silero's
    cue_speech_seconds: float = 0.0  # the second speech cue's (what Silero misses)
    speech_segments: int = 0
    first_speech_delay: float | None = None
    sound_seconds: float = 0.0  # loud enough to be sound, yet not speech (music, noise)
    dtmf: str = ""
    keywords: tuple[str, ...] = ()  # emergency keywords recognised, if the model can
    keywords_supported: bool = False
    prank_reports: int = 0  # call-taker dispositions for this number within the window
    genuine_reports: int = 0
    blocked: bool = False  # the number is under an active block and this centre enables blocking
    # Why speech detection did not listen (at capacity, could not start): empty when it did;
    # else the sound energy heard (Asterisk's talk detection) is in cue_speech_seconds.
    energy_only: str = ""


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    level: str
    reason: str
    warn: bool = False  # play the recorded warning (#BijakGunakan112) before queueing
    flags: frozenset[str] = frozenset()
    cues: tuple[str, ...] = ()  # the evidence: what was heard or known, for the record and desk


@dataclass(frozen=True)
class Rule:
    name: str
    applies: Callable[[Features, ScreeningPolicy], bool]
    verdict: Verdict
    warn: bool = False


def _spoke(f: Features, p: ScreeningPolicy) -> bool:
    return f.speech_seconds >= p.min_speech_seconds


def _voice_heard(f: Features, p: ScreeningPolicy) -> bool:
    """The second cue heard voice-like sound, or Silero heard at least half the speech it
    needs: too weak to call speech, enough to never move the caller down."""
    return f.cue_speech_seconds >= p.min_cue_speech_seconds or f.speech_seconds >= p.min_speech_seconds / 2


def _pressed_55(f: Features, p: ScreeningPolicy) -> bool:
    return p.emergency_code in f.dtmf


def _keywords(f: Features, p: ScreeningPolicy) -> bool:
    # Only words heard while someone spoke: a recognizer finds "words" in music and noise.
    return f.keywords_supported and bool(f.keywords) and _spoke(f, p)


def _repeat_prankster(f: Features, p: ScreeningPolicy) -> bool:
    return f.prank_reports >= p.prank_reports_to_suspect and f.prank_reports > f.genuine_reports


def _blocked(f: Features, p: ScreeningPolicy) -> bool:
    return f.blocked


def _sound_heard(f: Features, p: ScreeningPolicy) -> bool:
    """Screened by energy only: as much sound as speech would need. It may be noise; it is
    no reason to ask a caller who is talking to press keys, nor to move one down."""
    return bool(f.energy_only) and f.cue_speech_seconds >= p.min_speech_seconds


def _sound_without_speech(f: Features, p: ScreeningPolicy) -> bool:
    return not _spoke(f, p) and f.sound_seconds >= p.min_sound_seconds


RULES: tuple[Rule, ...] = (
    Rule("pressed 55", _pressed_55, Verdict.EMERGENCY),
    Rule("emergency keywords", _keywords, Verdict.EMERGENCY),
    Rule("number blocked for a limited time", _blocked, Verdict.BLOCKED, warn=True),
    Rule("repeated prank verdicts for this number", _repeat_prankster, Verdict.PRANK, warn=True),
    Rule("speech heard by Silero", _spoke, Verdict.NORMAL),
    Rule("sound heard (screened by energy only)", _sound_heard, Verdict.NORMAL),
    Rule("no speech", lambda f, p: True, Verdict.SILENT_PENDING),
)


def cues(f: Features, p: ScreeningPolicy) -> tuple[str, ...]:
    """What was heard or known about the call, in words a supervisor reads."""
    found: list[str] = []
    if f.energy_only:
        heard = f"{f.cue_speech_seconds:.1f} s"
        found.append(f"screened by sound energy and keys only ({f.energy_only}): sound {heard}")
    if f.speech_seconds > 0:
        found.append(f"speech (Silero) {f.speech_seconds:.1f} s")
    if f.cue_speech_seconds > 0 and not f.energy_only:
        found.append(
            f"voice-like bursts (second cue: whisper, quiet or short word) {f.cue_speech_seconds:.1f} s"
        )
    if f.sound_seconds > 0 and not _spoke(f, p):
        found.append(f"sound without speech {f.sound_seconds:.1f} s")
    if f.keywords:
        found.append(f"keywords: {', '.join(f.keywords)}")
    if f.dtmf:
        found.append(f"keys pressed: {f.dtmf}")
    if f.prank_reports or f.genuine_reports:
        found.append(
            f"call-taker verdicts on the number: {f.prank_reports} prank, {f.genuine_reports} genuine"
        )
    if f.blocked:
        found.append("number under a time-limited block")
    return tuple(found) or ("nothing heard",)


def decide(features: Features, policy: ScreeningPolicy) -> Decision:
    rule = next(r for r in RULES if r.applies(features, policy))
    flags: set[str] = set()
    reason = rule.name
    if rule.verdict is Verdict.EMERGENCY and not _spoke(features, policy):
        flags.add("silent-emergency")
    if rule.name == "emergency keywords":
        reason = f"emergency keywords: {', '.join(features.keywords)}"
    if rule.applies is _sound_heard:
        reason = f"sound heard (screened by energy only: {features.energy_only})"
    if rule.verdict in (Verdict.PRANK, Verdict.BLOCKED):
        flags.add("prank-suspected")
    if _sound_without_speech(features, policy):
        flags.add("sound-no-speech")  # music, noise, a phone in a pocket: tell the call taker
    if rule.verdict is Verdict.SILENT_PENDING and _voice_heard(features, policy):
        flags.add("possible-voice")  # the silent-call procedure never moves this caller down
    if features.energy_only:
        flags.add("energy-only")
    evidence = cues(features, policy)
    return Decision(rule.verdict, policy.level(rule.verdict), reason, rule.warn, frozenset(flags), evidence)


CARRIED_FLAGS = frozenset({"sound-no-speech", "possible-voice", "energy-only"})  # kept through the prompt


def after_silent_prompt(
    digits: str, policy: ScreeningPolicy, earlier: frozenset[str] = frozenset()
) -> Decision:
    """The caller heard the press-55 prompt; `digits` is everything pressed since, `earlier`
    the flags of the decision that started the prompt (what was heard stays on the record).
    With "possible-voice" (the second cue heard voice-like bursts) no answer keeps the
    caller at the normal level: a whisper is no reason to wait longer."""
    carried = earlier & CARRIED_FLAGS
    if policy.emergency_code in digits:
        verdict = Verdict.SILENT_EMERGENCY
        return Decision(verdict, policy.level(verdict), "pressed 55 after the silent-call prompt",
                        flags=frozenset({"silent", "silent-emergency"}) | carried,
                        cues=("pressed 55 after the silent-call prompt",))  # fmt: skip
    verdict = Verdict.SILENT
    why = "no response to the silent-call prompt"
    if "possible-voice" in earlier:
        kept = f"{why}; a voice may have been heard: kept at normal"
        return Decision(verdict, policy.level(Verdict.NORMAL), kept, flags=frozenset({"silent"}) | carried,
                        cues=(why,))  # fmt: skip
    return Decision(verdict, policy.level(verdict), why, flags=frozenset({"silent"}) | carried, cues=(why,))


# What the call taker's phone shows as the caller's name when the call is offered.
OFFER_LABELS = (
    ("silent-emergency", "112 DARURAT SENYAP"),  # pressed 55 without speaking
    ("emergency", "112 DARURAT"),
    ("silent", "112 SENYAP"),
    ("prank-suspected", "112 DIDUGA ISENG"),
    ("unscreened", "112"),
)


def offer_label(verdict: str, flags: frozenset[str]) -> str:
    marks = {verdict, *flags}
    return next((label for mark, label in OFFER_LABELS if mark in marks), "112")


def failed(reason: str, policy: ScreeningPolicy) -> Decision:
    """Screening could not run or finish in time: a normal call, with the reason kept."""
    why = f"screening unavailable: {reason}"
    return Decision(Verdict.NORMAL, policy.level(Verdict.NORMAL), why, flags=frozenset({"unscreened"}),
                    cues=(why,))  # fmt: skip
