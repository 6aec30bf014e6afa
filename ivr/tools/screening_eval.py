"""Runs the offline screening (Silero speech detection + the decision table) on labelled
WAV files and prints a confusion matrix, per-class timing and the worst cases.

  python -m ivr screening corpus DIR   # generate the labelled corpus
  python -m ivr screening eval DIR     # DIR/<label>/*.wav, labels: normal, prank, silent

Rules: audio is fed in 20 ms frames as it would arrive from the call; a file that is not
8 kHz mono 16-bit is reported by name and skipped, never guessed at.
"""

from __future__ import annotations

import time
import wave
from dataclasses import dataclass
from pathlib import Path

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


def screen(path: Path, policy: ScreeningPolicy) -> tuple[str, SpeechFeatures, float]:
    with wave.open(str(path)) as wav:
        if (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) != (8000, 1, 2):
            raise ValueError(f"{path}: not 8 kHz mono 16-bit")
        pcm = wav.readframes(wav.getnframes())
    started = time.process_time()
    detector = SpeechDetector()
    for offset in range(0, len(pcm), FRAME_BYTES):
        detector.feed(pcm[offset : offset + FRAME_BYTES])
    found = detector.finish()
    features = Features(
        speech_seconds=found.speech_seconds,
        speech_segments=found.speech_segments,
        first_speech_delay=found.first_speech_seconds,
        sound_seconds=found.sound_seconds,
    )
    verdict = decide(features, policy).verdict
    return LABEL_OF[verdict], found, time.process_time() - started


def evaluate(folder: Path, policy: ScreeningPolicy | None = None) -> list[Result]:
    policy = policy or ScreeningPolicy()
    results = []
    for label in LABELS:
        for path in sorted((folder / label).glob("*.wav")):
            try:
                predicted, features, seconds = screen(path, policy)
            except (ValueError, wave.Error) as exc:
                print(f"skipped: {exc}")
                continue
            results.append(Result(path, label, predicted, features, seconds))
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
    wrong = [r for r in results if r.expected != r.predicted]
    lines.append("worst cases:" if wrong else "worst cases: none")
    for r in wrong:
        f = r.features
        lines.append(f"  {r.path.parent.name}/{r.path.name}: screened as {r.predicted} "
                     f"(speech {f.speech_seconds:.2f} s, sound {f.sound_seconds:.2f} s)")  # fmt: skip
    return "\n".join(lines)
