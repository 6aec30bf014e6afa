# The second speech cue (ivr.adapters.speech.voice_cue) on corpus sounds: steady sounds
# and signalling tones on the line (hum, hiss, silence, ringback, DTMF) are never voice,
# whatever their level, even where Silero leans to speech; a whisper and one short word
# are, also on top of a sound that swells and under music (a line with music may hide a
# voice); how the audio is cut into packets does not change the result.
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ivr.adapters.speech.voice_cue import VoiceCue
from ivr.core.screening import ScreeningPolicy
from ivr.tools import screening_audio as audio
from ivr.tools import screening_corpus as corpus

NEEDED = ScreeningPolicy().min_cue_speech_seconds


def cue_seconds(pcm: np.ndarray, packet: int = 160, leaning: np.ndarray | None = None) -> float:
    cue = VoiceCue()
    for start in range(0, pcm.size, packet):
        cue.feed(pcm[start : start + packet])
    return cue.seconds(leaning)


@pytest.mark.parametrize("kind", ["silence", "hum", "hiss", "ringback", "dtmf"])
@pytest.mark.parametrize("level", [-20, -40])
def test_steady_sounds_and_tones_are_never_voice(kind: str, level: int) -> None:
    for seed in (3, 4):
        pcm = corpus.samples(corpus.Clip(kind, seed, level=level, alaw=seed == 4, loss=3 if seed == 4 else 0))
        assert cue_seconds(pcm) < NEEDED, (kind, level, seed)


@pytest.mark.parametrize("kind", ["hum", "hiss", "ringback", "dtmf"])
def test_a_steady_sound_that_starts_and_stops_on_a_silent_line_is_no_voice(kind: str) -> None:
    # the caller's audio reaches the screener after 2 s of nothing and stops 8 s before the
    # prompt goes unanswered: neither step is a syllable
    for seed in range(4):
        sound = corpus.samples(corpus.Clip(kind, 21 + seed, level=-20 - 5 * seed))
        pcm = np.concatenate((np.zeros(16000, dtype=np.int16), sound, np.zeros(64000, dtype=np.int16)))
        if seed % 2:
            pcm = audio.alaw_round_trip(pcm)
        assert cue_seconds(pcm) == 0.0, (kind, seed)


@pytest.mark.parametrize("kind", ["silence", "hum", "hiss", "ringback", "dtmf"])
def test_even_silero_leaning_to_speech_everywhere_makes_no_tone_or_steady_sound_a_voice(kind: str) -> None:
    pcm = corpus.samples(corpus.Clip(kind, 9, level=-28))
    always = np.ones(pcm.size // 256 + 1, dtype=np.float32)  # a probability of 1 on every chunk
    assert cue_seconds(pcm, leaning=always) < NEEDED, kind


@pytest.mark.parametrize("category", ["whisper", "word", "quiet"])
def test_a_whisper_a_short_word_and_a_quiet_voice_are_heard(category: str, tmp_path: Path) -> None:
    clip = corpus.render_clip(category, tmp_path / "clip.wav")
    pcm = np.frombuffer(clip.read_bytes()[44:], dtype="<i2")
    assert cue_seconds(pcm) >= NEEDED


def test_a_word_on_top_of_street_noise_that_swelled_is_heard() -> None:
    # traffic builds up over the first seconds (-50 to -30 dBFS): the whispered word at 10 s
    # stands above the noise around it, though the whole later part of the call stands
    # above the quiet start
    street = corpus.samples(corpus.Clip("street", 31, level=-30)).astype(np.float64)
    street *= np.clip(np.arange(street.size) / (6 * 8000), 0.1, 1.0)
    word = corpus.samples(corpus.Clip("word", 31, level=-15, variant="whisperf", text="Tolong!", start=10.0))
    assert cue_seconds((street + word).clip(-32768, 32767).astype(np.int16)) >= NEEDED


def test_the_result_does_not_depend_on_how_the_audio_was_cut(tmp_path: Path) -> None:
    clip = corpus.render_clip("whisper", tmp_path / "clip.wav")
    pcm = np.frombuffer(clip.read_bytes()[44:], dtype="<i2")
    assert cue_seconds(pcm, 160) == cue_seconds(pcm, 1234) == cue_seconds(pcm, pcm.size)


@pytest.mark.parametrize("span", [3, 13, 101, 40])
@pytest.mark.parametrize("q", [20, 50])
def test_the_fast_floor_ranks_like_numpys_percentile(span: int, q: int) -> None:
    # the cue's floors come from a partial sort: the same values as np.percentile, so a
    # faster cue hears exactly what the evaluated one heard
    from ivr.adapters.speech.voice_cue import _percentile_last_axis

    levels = np.random.default_rng(span).normal(-50, 12, (300, 8))
    windows = np.lib.stride_tricks.sliding_window_view(levels, span, axis=0)
    fast, numpys = _percentile_last_axis(windows, q), np.percentile(windows, q, axis=-1)
    if ((span - 1) * q / 100).is_integer():  # the cue's own windows: the very same values
        assert np.array_equal(fast, numpys)
    else:  # between two ranks: the same within rounding
        assert np.allclose(fast, numpys, rtol=0, atol=1e-9)


def test_the_tone_masks_are_those_of_the_neighbours_median() -> None:
    # the prominence is computed exactly only where it could reach MASK_DB: the tones it
    # masks and the signalling tones it finds are those of the plain definition (a bin's
    # rise over the median of its neighbours), on noise with tones and a swept whistle
    from ivr.adapters.speech import voice_cue as vc

    rng = np.random.default_rng(5)
    db = rng.normal(-60, 6, (400, 99))
    db[100:200, 30] += 40  # a steady tone
    db[150:170, 60:62] += 30  # a two-bin tone
    db[np.arange(300, 380), np.arange(10, 90)] += 25  # a sweep
    excess, prominence = vc._prominence(db)
    padded = np.pad(excess, ((0, 0), (6, 6)), mode="edge")
    plain = excess - np.median(np.lib.stride_tricks.sliding_window_view(padded, 13, axis=1), axis=-1)
    for threshold in (vc.MASK_DB, vc.TONE_DB):
        assert np.array_equal(prominence >= threshold, plain >= threshold)
    assert (prominence >= vc.MASK_DB).sum() > 100  # the tones are there to be found
