# The speech detector on audio generated here (espeak-ng Indonesian voice and sox, 8 kHz
# 16-bit mono) and the real Silero model: speech is found for about its length as one or more
# segments; silence and low hiss are neither speech nor sound; music-like tones and noise
# bursts are never speech but clearly sound; speech after 2 s of silence starts at about 2 s;
# and the result does not depend on how the audio is cut into frames, nor on the calls judged
# in the same batch.
from __future__ import annotations

import asyncio
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from ivr.adapters.speech.vad import SpeechDetector, SpeechFeatures, judge_windows
from ivr.adapters.speech.vad_batcher import VadBatcher

RATE = 8000
SENTENCE = "Tolong, ada kecelakaan di jalan Sudirman. Dua orang terluka parah, cepat kirim ambulans."
TO_8K = ["-r", str(RATE), "-b", "16", "-c", "1", "-e", "signed-integer"]


def sox(*args: str) -> None:
    subprocess.run(["sox", *args], check=True, capture_output=True)


def read(path: Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        assert (w.getframerate(), w.getsampwidth(), w.getnchannels()) == (RATE, 2, 1)
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.int16)


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    d = tmp_path_factory.mktemp("clips")
    subprocess.run(["espeak-ng", "-v", "id", "-w", str(d / "raw.wav"), SENTENCE], check=True)
    sox(str(d / "raw.wav"), *TO_8K, str(d / "speech.wav"))
    synth = ["-n", *TO_8K]
    sox(*synth, str(d / "silence.wav"), "trim", "0", "3")
    sox(*synth, str(d / "hiss.wav"), "synth", "3", "whitenoise", "vol", "0.005")
    notes = [arg for hz in (440, 523, 659, 784, 659, 523) for arg in ("synth", "0.4", "sine", str(hz), ":")]
    sox(*synth, str(d / "music.wav"), *notes[:-1], "vol", "0.3")
    sox(
        *synth,
        str(d / "noise.wav"),
        "synth",
        "0.5",
        "whitenoise",
        "vol",
        "0.3",
        "pad",
        "0",
        "0.3",
        "repeat",
        "3",
    )
    sox(*synth, str(d / "two.wav"), "trim", "0", "2")
    sox(str(d / "two.wav"), str(d / "speech.wav"), str(d / "late.wav"))
    return {p.stem: read(p) for p in d.glob("*.wav") if p.stem not in ("raw", "two")}


def detect(samples: np.ndarray, sizes: list[int] | None = None) -> SpeechFeatures:
    """Features of `samples` fed in frames cycling through `sizes` (default 20 ms)."""
    sizes = sizes or [160]
    detector = SpeechDetector()
    start, i = 0, 0
    while start < samples.size:
        size = sizes[i % len(sizes)]
        detector.feed(samples[start : start + size].tobytes())
        start, i = start + size, i + 1
    return detector.finish()


def voiced_span(samples: np.ndarray) -> float:
    """Seconds from the first to the last 20 ms frame louder than -40 dBFS."""
    frames = samples[: samples.size - samples.size % 160].reshape(-1, 160).astype(np.float64) / 32768
    loud = np.flatnonzero(np.sqrt(np.mean(frames**2, axis=1)) > 0.01)
    return (loud[-1] - loud[0] + 1) * 0.02


def test_indonesian_speech_is_found(clips: dict[str, np.ndarray]) -> None:
    found = detect(clips["speech"])
    span = voiced_span(clips["speech"])
    assert 0.7 * span <= found.speech_seconds <= 1.05 * span + 0.1, (found, span)
    assert found.speech_segments >= 1
    assert found.first_speech_seconds is not None and found.first_speech_seconds < 0.3


@pytest.mark.parametrize("name", ["silence", "hiss"])
def test_silence_and_hiss_are_not_speech(clips: dict[str, np.ndarray], name: str) -> None:
    found = detect(clips[name])
    assert found.speech_seconds == 0 and found.speech_segments == 0
    assert found.first_speech_seconds is None
    assert found.sound_seconds <= 0.1
    assert found.audio_seconds == pytest.approx(3.0, abs=0.05)


@pytest.mark.parametrize(("name", "sound"), [("music", 2.0), ("noise", 1.5)])
def test_music_and_noise_are_sound_never_speech(
    clips: dict[str, np.ndarray], name: str, sound: float
) -> None:
    found = detect(clips[name])
    assert found.speech_seconds == 0 and found.speech_segments == 0
    assert found.sound_seconds >= sound


def test_first_speech_delay_after_two_seconds_of_silence(clips: dict[str, np.ndarray]) -> None:
    found = detect(clips["late"])
    assert found.first_speech_seconds == pytest.approx(2.0, abs=0.3)
    assert found.speech_seconds == pytest.approx(detect(clips["speech"]).speech_seconds, abs=0.3)


@pytest.mark.parametrize("name", ["speech", "music", "late"])
def test_framing_does_not_change_the_result(clips: dict[str, np.ndarray], name: str) -> None:
    even = detect(clips[name])
    odd = detect(clips[name], [1, 37, 161, 999, 7, 4001])
    assert odd.audio_seconds == pytest.approx(even.audio_seconds, abs=0.04)
    assert odd.speech_seconds == pytest.approx(even.speech_seconds, abs=0.1)
    assert odd.speech_segments == even.speech_segments
    assert odd.sound_seconds == pytest.approx(even.sound_seconds, abs=0.1)
    if even.first_speech_seconds is not None:
        assert odd.first_speech_seconds == pytest.approx(even.first_speech_seconds, abs=0.05)


def test_features_midway_and_feed_after_finish(clips: dict[str, np.ndarray]) -> None:
    detector = SpeechDetector()
    detector.feed(clips["speech"][: 3 * RATE])
    midway = detector.features()
    assert midway.speech_seconds > 1 and midway.speech_segments == 1
    detector.feed(clips["speech"][3 * RATE :])
    assert detector.finish().speech_seconds >= midway.speech_seconds
    with pytest.raises(RuntimeError):
        detector.feed(b"\x00\x00")


def test_a_callers_result_does_not_depend_on_the_calls_judged_beside_it(clips: dict[str, np.ndarray]) -> None:
    # the screener judges every call's windows in one batch: a caller's speech must come
    # out the same alone, beside a silent line and beside music and noise
    alone = detect(clips["late"])
    crowd = [SpeechDetector(batched=True) for _ in range(4)]
    audio = [clips["late"], clips["music"], clips["silence"], clips["noise"]]
    longest = max(a.size for a in audio)
    for start in range(0, longest, 1600):
        for detector, samples in zip(crowd, audio, strict=True):
            detector.feed(samples[start : start + 1600])
        judge_windows(crowd)
    together = crowd[0].finish()
    assert together == alone
    assert crowd[1].finish().speech_seconds == 0 and crowd[2].finish().sound_seconds == 0


async def test_the_batcher_judges_calls_off_the_event_loop_and_answers_each(
    clips: dict[str, np.ndarray],
) -> None:
    batcher = VadBatcher()
    try:
        speech, music = batcher.open(), batcher.open()
        for start in range(0, clips["speech"].size, 1600):
            batcher.feed(speech, clips["speech"][start : start + 1600].tobytes())
            batcher.feed(music, clips["music"][start : start + 1600].tobytes())
        heard, played = await asyncio.gather(batcher.finish(speech), batcher.finish(music))
        assert heard == detect(clips["speech"]) and heard.speech_seconds > 2
        assert played.speech_seconds == 0 and played.sound_seconds > 1
        stats = batcher.stats()
        assert stats["widest_batch"] == 2 and stats["behind_seconds"] == 0
    finally:
        batcher.close()
    with pytest.raises(RuntimeError):
        await batcher.finish(batcher.open())


async def test_audio_arriving_after_a_call_ended_costs_no_other_call_its_verdict(
    clips: dict[str, np.ndarray],
) -> None:
    batcher = VadBatcher()
    try:
        ended, speaking = batcher.open(), batcher.open()
        batcher.feed(ended, clips["music"][:1600].tobytes())
        await batcher.finish(ended)
        batcher.feed(ended, clips["music"][1600:3200].tobytes())  # a late packet of the ended call
        batcher.feed(speaking, clips["speech"].tobytes())
        heard = await batcher.features(speaking)
        assert heard.speech_seconds > 2
    finally:
        batcher.close()


async def test_calls_handing_audio_over_at_different_moments_are_judged_together(
    clips: dict[str, np.ndarray],
) -> None:
    # four callers whose 20 ms packets arrive one after the other, as RTP does: judged in
    # wide rounds (one inference for all of them), not one round per hand-over; a call
    # that ends is answered on everything it handed over
    batcher = VadBatcher()
    try:
        calls = [batcher.open() for _ in range(4)]
        sources = [clips["speech"], clips["music"], clips["silence"], clips["noise"]]
        hand_overs = 0
        for start in range(0, 8000, 160):  # 1 s of each
            for call, source in zip(calls, sources, strict=True):
                batcher.feed(call, source[start : start + 160].tobytes())
                hand_overs += 1
                await asyncio.sleep(0.005)
        heard = await batcher.finish(calls[0])
        stats = batcher.stats()
        assert stats["widest_batch"] == 4
        assert stats["rounds"] <= hand_overs / 8  # 200 hand-overs in about 1 s: a dozen rounds
        assert heard == detect(clips["speech"][:8000])
    finally:
        batcher.close()


async def test_the_second_cue_is_left_out_only_for_a_caller_silero_heard_speak(
    clips: dict[str, np.ndarray],
) -> None:
    batcher = VadBatcher()
    try:
        speech, quiet = batcher.open(), batcher.open()
        batcher.feed(speech, clips["speech"].tobytes())
        batcher.feed(quiet, clips["noise"].tobytes())
        full = await batcher.features(speech)
        spoke = await batcher.features(speech, cue_below=0.3)
        assert full.speech_seconds > 2 and full.cue_speech_seconds > 0
        assert spoke == SpeechFeatures(**{**vars(full), "cue_speech_seconds": 0.0})  # the rest unchanged
        assert await batcher.features(quiet, cue_below=0.3) == await batcher.features(quiet)
        assert await batcher.features(speech, cue_below=60) == full  # not enough speech yet: measured
    finally:
        batcher.close()
