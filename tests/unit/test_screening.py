# Screening decisions (ivr.core.screening): the rule table, in order; emergency signals
# beat reputation; music or noise alone is never speech, and no audio alone is ever a
# prank (no speech, with or without sound, starts the press-55 procedure); a whisper or
# a short word heard only by the second cue gets the procedure too but is never moved
# below normal; every decision names its cues; errors fail open to a normal call.
from __future__ import annotations

import pytest

from ivr.core.screening import (
    RULES,
    Decision,
    Features,
    ScreeningPolicy,
    Verdict,
    after_silent_prompt,
    decide,
    failed,
)

POLICY = ScreeningPolicy()
SPEECH = {"speech_seconds": 2.4, "speech_segments": 2, "first_speech_delay": 0.8}
PRANKSTER = {"prank_reports": 4, "genuine_reports": 1}


@pytest.mark.parametrize(
    ("features", "verdict", "level", "warn", "flags"),
    [
        # someone speaking
        (Features(**SPEECH), Verdict.NORMAL, "normal", False, set()),
        # 55 pressed, nobody spoke: the caller who cannot speak
        (Features(dtmf="55"), Verdict.EMERGENCY, "emergency", False, {"silent-emergency"}),
        (Features(dtmf="1553"), Verdict.EMERGENCY, "emergency", False, {"silent-emergency"}),
        (Features(dtmf="5"), Verdict.SILENT_PENDING, "silent", False, set()),
        # emergency keywords, only when the model supports them
        (
            Features(**SPEECH, keywords=("kebakaran",), keywords_supported=True),
            Verdict.EMERGENCY,
            "emergency",
            False,
            set(),
        ),
        (
            Features(**SPEECH, keywords=("kebakaran",), keywords_supported=False),
            Verdict.NORMAL,
            "normal",
            False,
            set(),
        ),
        # keywords "heard" in music are not speech: no speech, the press-55 procedure
        (
            Features(sound_seconds=5.5, keywords=("api",), keywords_supported=True),
            Verdict.SILENT_PENDING,
            "silent",
            False,
            {"sound-no-speech"},
        ),
        # music, street noise, hum, a phone in a pocket: sound but no speech is no prank
        (Features(sound_seconds=5.5), Verdict.SILENT_PENDING, "silent", False, {"sound-no-speech"}),
        (Features(sound_seconds=0.5), Verdict.SILENT_PENDING, "silent", False, set()),
        # a whisper or one short word that only the second cue heard: the press-55 prompt
        # (a caller hiding may press 55), flagged so that no answer keeps the normal level
        (
            Features(cue_speech_seconds=0.4, sound_seconds=3.0),
            Verdict.SILENT_PENDING,
            "silent",
            False,
            {"sound-no-speech", "possible-voice"},
        ),
        # less than one syllable (a click the cue saw for two frames) is no voice
        (Features(cue_speech_seconds=0.04), Verdict.SILENT_PENDING, "silent", False, set()),
        # Silero heard half the speech it needs (a word in loud noise): kept normal too
        (Features(speech_seconds=0.16), Verdict.SILENT_PENDING, "silent", False, {"possible-voice"}),
        (Features(speech_seconds=0.1), Verdict.SILENT_PENDING, "silent", False, set()),
        # a short word Silero heard
        (Features(speech_seconds=0.35, speech_segments=1), Verdict.NORMAL, "normal", False, set()),
        # silence is never a prank by itself
        (Features(), Verdict.SILENT_PENDING, "silent", False, set()),
        # a repeat prankster, speaking: warned, lowest level
        (Features(**SPEECH, **PRANKSTER), Verdict.PRANK, "low", True, {"prank-suspected"}),
        # ... but 55 or emergency keywords beat the reputation
        (Features(dtmf="55", **PRANKSTER), Verdict.EMERGENCY, "emergency", False, {"silent-emergency"}),
        (
            Features(**SPEECH, **PRANKSTER, keywords=("tolong",), keywords_supported=True),
            Verdict.EMERGENCY,
            "emergency",
            False,
            set(),
        ),
        # more genuine than prank verdicts: not suspected
        (Features(**SPEECH, prank_reports=3, genuine_reports=5), Verdict.NORMAL, "normal", False, set()),
        # below the threshold: not suspected
        (Features(**SPEECH, prank_reports=2), Verdict.NORMAL, "normal", False, set()),
        # a blocked number (blocking enabled): warned, then the call ends ...
        (Features(**SPEECH, blocked=True), Verdict.BLOCKED, "low", True, {"prank-suspected"}),
        # ... unless it presses 55: emergency signals beat any block
        (Features(dtmf="55", blocked=True), Verdict.EMERGENCY, "emergency", False, {"silent-emergency"}),
    ],
)
def test_rules(features: Features, verdict: Verdict, level: str, warn: bool, flags: set[str]) -> None:
    decision = decide(features, POLICY)
    assert (decision.verdict, decision.level, decision.warn, set(decision.flags)) == (
        verdict,
        level,
        warn,
        flags,
    )


def test_music_alone_is_never_speech_nor_a_prank_however_long() -> None:
    for seconds in (1.5, 6.0, 60.0):
        decision = decide(Features(sound_seconds=seconds), POLICY)
        assert decision.verdict is Verdict.SILENT_PENDING and not decision.warn


def test_no_audio_alone_ever_warns_or_ranks_a_caller_lowest() -> None:
    """Only the call takers' verdicts or a block are positive evidence of a prank."""
    for features in (
        Features(),
        Features(sound_seconds=30),
        Features(dtmf="1"),
        Features(speech_seconds=0.1),
    ):
        decision = decide(features, POLICY)
        assert not decision.warn and decision.level != POLICY.level(Verdict.PRANK), features
    assert decide(Features(sound_seconds=5, **PRANKSTER), POLICY).verdict is Verdict.PRANK


def test_each_decision_names_the_cues_that_fired() -> None:
    decision = decide(Features(**SPEECH, cue_speech_seconds=0.9, dtmf="2", **PRANKSTER), POLICY)
    assert decision.cues == (
        "speech (Silero) 2.4 s",
        "voice-like bursts (second cue: whisper, quiet or short word) 0.9 s",
        "keys pressed: 2",
        "call-taker verdicts on the number: 4 prank, 1 genuine",
    )
    assert decide(Features(sound_seconds=4.2), POLICY).cues == ("sound without speech 4.2 s",)
    assert decide(Features(), POLICY).cues == ("nothing heard",)


def test_a_cough_is_not_speech() -> None:
    assert decide(Features(speech_seconds=0.2, speech_segments=1), POLICY).verdict is Verdict.SILENT_PENDING


def test_keyword_reason_names_the_words() -> None:
    decision = decide(Features(**SPEECH, keywords=("kebakaran", "tolong"), keywords_supported=True), POLICY)
    assert decision.reason == "emergency keywords: kebakaran, tolong"


@pytest.mark.parametrize(
    ("digits", "verdict", "level", "flags"),
    [
        ("55", Verdict.SILENT_EMERGENCY, "emergency", {"silent", "silent-emergency"}),
        ("2559", Verdict.SILENT_EMERGENCY, "emergency", {"silent", "silent-emergency"}),
        ("5", Verdict.SILENT, "silent", {"silent"}),
        ("", Verdict.SILENT, "silent", {"silent"}),
    ],
)
def test_silent_call_procedure(digits: str, verdict: Verdict, level: str, flags: set[str]) -> None:
    decision = after_silent_prompt(digits, POLICY)
    assert (decision.verdict, decision.level, set(decision.flags)) == (verdict, level, flags)


def test_a_possible_voice_is_never_moved_below_normal_by_the_silent_procedure() -> None:
    heard = frozenset({"possible-voice", "sound-no-speech"})
    kept = after_silent_prompt("", POLICY, heard)
    assert kept.level == "normal" and set(kept.flags) == {"silent", "possible-voice", "sound-no-speech"}
    assert "kept at normal" in kept.reason
    assert after_silent_prompt("55", POLICY, heard).level == "emergency"
    # what was heard stays on the record: sound without speech is still said after the prompt
    assert set(after_silent_prompt("", POLICY, frozenset({"sound-no-speech"})).flags) == {
        "silent",
        "sound-no-speech",
    }


def test_errors_fail_open_to_a_normal_call_with_the_reason() -> None:
    decision = failed("model folder missing", POLICY)
    assert decision == Decision(
        Verdict.NORMAL,
        "normal",
        "screening unavailable: model folder missing",
        flags=frozenset({"unscreened"}),
        cues=("screening unavailable: model folder missing",),
    )


def test_levels_follow_the_centre_configuration() -> None:
    policy = ScreeningPolicy(levels={v: f"lvl-{v.value}" for v in Verdict})
    assert decide(Features(sound_seconds=9), policy).level == "lvl-silent-pending"
    assert decide(Features(**PRANKSTER), policy).level == "lvl-prank"


def test_every_feature_set_gets_exactly_one_rule_and_the_last_rule_catches_all() -> None:
    assert RULES[-1].verdict is Verdict.SILENT_PENDING
    assert RULES[-1].applies(Features(), POLICY)
    names = [rule.name for rule in RULES]
    assert len(names) == len(set(names))


FULL = "speech detection at capacity: 50 of 50 calls"


def test_a_caller_screened_by_energy_alone_is_never_moved_down_for_sound() -> None:
    # Speech detection full: TALK_DETECT's seconds of sound. Talking as long as speech would
    # need keeps the caller normal without the press-55 prompt; any shorter sound keeps it
    # normal after an unanswered prompt; only a line without sound goes the silent way.
    # Why speech detection did not listen is on the record.
    talking = decide(Features(cue_speech_seconds=3.0, energy_only=FULL), POLICY)
    assert (talking.verdict, talking.level) == (Verdict.NORMAL, "normal")
    assert "energy-only" in talking.flags
    assert any("sound energy and keys only (speech detection at capacity" in cue for cue in talking.cues)
    assert talking.reason == f"sound heard (screened by energy only: {FULL})"
    short = decide(Features(cue_speech_seconds=0.2, energy_only=FULL), POLICY)
    assert short.verdict is Verdict.SILENT_PENDING and {"possible-voice", "energy-only"} <= short.flags
    assert after_silent_prompt("", POLICY, short.flags).level == "normal"
    quiet = decide(Features(energy_only=FULL), POLICY)
    assert after_silent_prompt("", POLICY, quiet.flags).level == "silent"
    assert "energy-only" in after_silent_prompt("", POLICY, quiet.flags).flags  # the record says how
    assert decide(Features(dtmf="55", energy_only=FULL), POLICY).verdict is Verdict.EMERGENCY
