# Screening decisions (ivr.core.screening): the rule table, in order; emergency signals
# beat reputation; music or noise alone is never speech; silence alone is never a prank
# (it starts the press-55 procedure); errors fail open to a normal call.
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
        # keywords "heard" in music are not speech: still a suspected prank
        (
            Features(sound_seconds=5.5, keywords=("api",), keywords_supported=True),
            Verdict.PRANK,
            "low",
            True,
            {"prank-suspected"},
        ),
        # music, street noise, laughter: sound but no speech
        (Features(sound_seconds=5.5), Verdict.PRANK, "low", True, {"prank-suspected"}),
        (Features(sound_seconds=0.5), Verdict.SILENT_PENDING, "silent", False, set()),
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


def test_music_alone_is_never_speech_however_long() -> None:
    for seconds in (1.5, 6.0, 60.0):
        assert decide(Features(sound_seconds=seconds), POLICY).verdict is not Verdict.NORMAL


def test_a_cough_is_not_speech() -> None:
    assert decide(Features(speech_seconds=0.3, speech_segments=1), POLICY).verdict is Verdict.SILENT_PENDING


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


def test_errors_fail_open_to_a_normal_call_with_the_reason() -> None:
    decision = failed("model folder missing", POLICY)
    assert decision == Decision(
        Verdict.NORMAL,
        "normal",
        "screening unavailable: model folder missing",
        flags=frozenset({"unscreened"}),
    )


def test_levels_follow_the_centre_configuration() -> None:
    policy = ScreeningPolicy(levels={v: f"lvl-{v.value}" for v in Verdict})
    assert decide(Features(sound_seconds=9), policy).level == "lvl-prank"


def test_every_feature_set_gets_exactly_one_rule_and_the_last_rule_catches_all() -> None:
    assert RULES[-1].verdict is Verdict.SILENT_PENDING
    assert RULES[-1].applies(Features(), POLICY)
    names = [rule.name for rule in RULES]
    assert len(names) == len(set(names))
