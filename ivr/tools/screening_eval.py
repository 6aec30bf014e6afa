"""Runs the offline screening (Silero speech detection + the decision table) on labelled
WAV files and prints a confusion matrix, per-class timing and the worst cases.

  python -m ivr screening corpus DIR   # generate the labelled corpus
  python -m ivr screening eval DIR [--model MODEL] [--config queue/kendari.yaml]
                                       # DIR/<label>/*.wav, labels: normal, prank, silent

With --model, each clip also goes through Vosk (the same checks as at start: keywords
outside the vocabulary are named and ignored) and the keywords heard count in the
decision; --config takes the screening thresholds and keywords from a centre file.

Rules: audio is fed in 20 ms frames as it would arrive from the call; a file that is not
8 kHz mono 16-bit is reported by name and skipped, never guessed at.
"""

from __future__ import annotations

import json
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soxr

from ivr.adapters.speech.vad import SpeechDetector, SpeechFeatures
from ivr.core.screening import Features, ScreeningPolicy, Verdict, decide

LABELS = ("normal", "prank", "silent")
LABEL_OF = {
    Verdict.NORMAL: "normal",
    Verdict.EMERGENCY: "normal",
    Verdict.PRANK: "prank",
    Verdict.BLOCKED: "prank",
    Verdict.SILENT_PENDING: "silent",
    Verdict.SILENT: "silent",
    Verdict.SILENT_EMERGENCY: "silent",
}
FRAME_BYTES = 320  # 20 ms at 8 kHz, 16-bit


@dataclass(frozen=True)
class Result:
    path: Path
    expected: str
    predicted: str
    features: SpeechFeatures
    seconds: float
    keywords: tuple[str, ...] = ()


Recognise = Callable[[bytes], tuple[str, ...]]


def recogniser(model: Any, rate: int, grammar: str | None) -> Recognise:
    """Words in 8 kHz int16 audio, with one fresh recognizer per clip (as in the calls)."""
    import vosk

    def words(pcm: bytes) -> tuple[str, ...]:
        args = (model, rate, grammar) if grammar else (model, rate)
        recognizer = vosk.KaldiRecognizer(*args)
        samples = np.frombuffer(pcm, dtype=np.int16)
        if rate != 8000:
            samples = soxr.resample(samples, 8000, rate).astype(np.int16)
        recognizer.AcceptWaveform(samples.tobytes())
        return tuple(json.loads(recognizer.FinalResult()).get("text", "").split())

    return words


def screen(
    path: Path, policy: ScreeningPolicy, words: Recognise | None = None, keywords: tuple[str, ...] = ()
) -> tuple[str, SpeechFeatures, float, tuple[str, ...]]:
    with wave.open(str(path)) as wav:
        if (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) != (8000, 1, 2):
            raise ValueError(f"{path}: not 8 kHz mono 16-bit")
        pcm = wav.readframes(wav.getnframes())
    started = time.process_time()
    detector = SpeechDetector()
    for offset in range(0, len(pcm), FRAME_BYTES):
        detector.feed(pcm[offset : offset + FRAME_BYTES])
    found = detector.finish()
    heard = tuple(w for w in words(pcm) if w in keywords) if words is not None else ()
    features = Features(
        speech_seconds=found.speech_seconds,
        speech_segments=found.speech_segments,
        first_speech_delay=found.first_speech_seconds,
        sound_seconds=found.sound_seconds,
        keywords=heard,
        keywords_supported=bool(keywords),
    )
    verdict = decide(features, policy).verdict
    return LABEL_OF[verdict], found, time.process_time() - started, heard


def evaluate(
    folder: Path,
    policy: ScreeningPolicy | None = None,
    words: Recognise | None = None,
    keywords: tuple[str, ...] = (),
) -> list[Result]:
    policy = policy or ScreeningPolicy()
    results = []
    for label in LABELS:
        for path in sorted((folder / label).glob("*.wav")):
            try:
                predicted, features, seconds, heard = screen(path, policy, words, keywords)
            except (ValueError, wave.Error) as exc:
                print(f"skipped: {exc}")
                continue
            results.append(Result(path, label, predicted, features, seconds, heard))
    return results


def report(results: list[Result]) -> str:
    lines = ["confusion matrix (rows: expected, columns: screened as)"]
    lines.append(f"{'':<10}" + "".join(f"{label:>9}" for label in LABELS))
    for expected in LABELS:
        row = [sum(r.expected == expected and r.predicted == p for r in results) for p in LABELS]
        lines.append(f"{expected:<10}" + "".join(f"{n:>9}" for n in row))
    right = sum(r.expected == r.predicted for r in results)
    lines.append(f"correct: {right}/{len(results)}")
    per_class = []
    for label in LABELS:
        mine = [r.seconds for r in results if r.expected == label]
        per_class.append(f"{label} {1000 * sum(mine) / max(1, len(mine)):.0f}")
    lines.append("CPU per clip (ms): " + ", ".join(per_class))
    heard = [r for r in results if r.keywords]
    for r in heard:
        lines.append(f"keywords in {r.path.parent.name}/{r.path.name}: {', '.join(r.keywords)}")
    wrong = [r for r in results if r.expected != r.predicted]
    lines.append("worst cases:" if wrong else "worst cases: none")
    for r in wrong:
        f = r.features
        lines.append(f"  {r.path.parent.name}/{r.path.name}: screened as {r.predicted} "
                     f"(speech {f.speech_seconds:.2f} s, sound {f.sound_seconds:.2f} s)")  # fmt: skip
    return "\n".join(lines)
