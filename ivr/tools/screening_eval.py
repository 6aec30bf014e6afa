"""Runs the offline screening (Silero, the second speech cue and the decision table) on
labelled WAV files and reports what would happen to each caller, per category.

  python -m ivr screening corpus DIR [--split test|dev|confirm]   # generate the labelled corpus
  python -m ivr screening eval DIR [--model MODEL] [--config queue/kendari.yaml]
                                       # DIR/genuine/*.wav and DIR/no-speech/*.wav

The first line is the count that matters: genuine callers ranked below normal (screened
to the silent level, or as a prank, when nobody answers the press-55 prompt). The command
exits with status 2 when it is not zero, so CI can gate on it. Then: how many no-speech
clips reach the silent-call procedure, and tables per category (the parts of the file
name, see screening_corpus.name()), the CPU per screened second, and every failure.

With --model, each clip also goes through Vosk (the same checks as at start: keywords
outside the vocabulary are named and ignored) and the keywords heard count in the
decision; --config takes the screening thresholds and keywords from a centre file.

Rules: audio is fed in 20 ms frames as it would arrive from the call, STREAMS clips side
by side judged together every 200 ms (as the screener judges its calls); a clip's result
does not depend on its companions. A file that is not 8 kHz mono 16-bit is reported by
name and skipped, never guessed at.
"""

from __future__ import annotations

import json
import re
import sys
import time
import wave
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import soxr

from ivr.adapters.speech.screening_session import screening_features
from ivr.adapters.speech.vad import SpeechDetector, SpeechFeatures, judge_windows
from ivr.core.screening import Features, ScreeningPolicy, Verdict, after_silent_prompt, decide
from ivr.tools.screening_corpus import GREETING_SECONDS

LABELS = ("genuine", "no-speech")
FRAME_BYTES = 320  # 20 ms at 8 kHz, 16-bit
BATCH_BYTES = 10 * FRAME_BYTES  # judged every 200 ms, as the screener does
STREAMS = 64  # clips screened side by side (calls screened at once)
# What happens to the caller, assuming nobody answers the press-55 prompt:
HEARD = "speech heard: normal"
KEPT = "prompt, then kept at normal (possible voice)"
SILENT = "prompt, then the silent level"
PRANK = "warned as a prank"
BELOW_NORMAL = (SILENT, PRANK)


@dataclass(frozen=True)
class Result:
    path: Path
    expected: str  # genuine | no-speech
    outcome: str  # HEARD, KEPT, SILENT or PRANK
    features: SpeechFeatures
    seconds: float  # CPU seconds to screen it
    audio_seconds: float
    keywords: tuple[str, ...] = ()

    @property
    def below_normal(self) -> bool:
        return self.outcome in BELOW_NORMAL

    @property
    def silent_procedure(self) -> bool:
        return self.outcome in (KEPT, SILENT)


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


def outcome(first: Features, policy: ScreeningPolicy, later: Features | None = None) -> str:
    """What happens to the caller: decided on `first` (heard until the first report, at
    the greeting's end); with no speech yet, the press-55 prompt, and when nobody answers
    it, decided again on `later` (everything heard) as the core does."""
    decision = decide(first, policy)
    if decision.verdict is Verdict.SILENT_PENDING:
        again = decide(later or first, policy)
        if again.verdict is not Verdict.SILENT_PENDING:
            return PRANK if again.verdict in (Verdict.PRANK, Verdict.BLOCKED) else HEARD
        after = after_silent_prompt("", policy, again.flags | decision.flags)
        return KEPT if after.level == policy.level(Verdict.NORMAL) else SILENT
    if decision.verdict in (Verdict.PRANK, Verdict.BLOCKED):
        return PRANK
    return HEARD


def _read(path: Path) -> bytes:
    with wave.open(str(path)) as wav:
        if (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) != (8000, 1, 2):
            raise ValueError(f"{path}: not 8 kHz mono 16-bit")
        return bytes(wav.readframes(wav.getnframes()))


def screen(clips: list[tuple[Path, str, bytes]], policy: ScreeningPolicy, words: Recognise | None = None,
           keywords: tuple[str, ...] = ()) -> list[Result]:  # fmt: skip
    """Screens clips side by side as live calls are: fed 20 ms at a time, judged every
    BATCH_BYTES by one Silero inference per window for all of them."""
    started = time.process_time()
    detectors = [SpeechDetector(batched=True) for _ in clips]
    longest = max((len(pcm) for _, _, pcm in clips), default=0)
    report_at = round((GREETING_SECONDS + policy.budget_seconds) * 8000) * 2  # the first report (bytes)
    first: list[SpeechFeatures | None] = [None] * len(clips)
    edges = sorted({*range(0, longest, BATCH_BYTES), report_at, longest})
    for at, until in pairwise(edges):
        for detector, (_, _, pcm) in zip(detectors, clips, strict=True):
            for offset in range(at, min(until, len(pcm)), FRAME_BYTES):
                detector.feed(pcm[offset : min(offset + FRAME_BYTES, until)])
        judge_windows(detectors)
        if until == report_at:
            first = [detector.copy().features() for detector in detectors]
    found = [detector.finish() for detector in detectors]
    spent = (time.process_time() - started) / max(1, len(clips))
    results = []
    for (path, label, pcm), early, speech in zip(clips, first, found, strict=True):
        heard = tuple(w for w in words(pcm) if w in keywords) if words is not None else ()
        later = screening_features(speech, heard, keywords, None, False)
        first_report = screening_features(early, heard, keywords, None, False) if early else later
        verdict = outcome(first_report, policy, later)
        results.append(Result(path, label, verdict, speech, spent, len(pcm) / 2 / 8000, heard))
    return results


def evaluate(
    folder: Path,
    policy: ScreeningPolicy | None = None,
    words: Recognise | None = None,
    keywords: tuple[str, ...] = (),
) -> list[Result]:
    policy = policy or ScreeningPolicy()
    clips = []
    for label in LABELS:
        for path in sorted((folder / label).glob("*.wav")):
            try:
                clips.append((path, label, _read(path)))
            except (ValueError, wave.Error, EOFError) as exc:
                print(f"skipped: {path.name}: {exc}", file=sys.stderr)
    results: list[Result] = []
    for start in range(0, len(clips), STREAMS):
        results += screen(clips[start : start + STREAMS], policy, words, keywords)
    return results


def categories(name: str) -> dict[str, str]:
    """The categories a corpus file name holds (screening_corpus.name()); unknown parts are
    ignored, so any labelled WAV file can be evaluated."""
    parts = Path(name).stem.split("_")
    found = {"kind": parts[0]}
    for part in parts[1:]:
        if "-" in part and part.split("-")[0] in ("id", "ms", "en"):
            lang, variant = part.split("-", 1)
            found["language"] = lang
            found["voice"] = "whispered" if variant.startswith("whisper") else "voiced"
        elif part.endswith("dBFS"):
            found["level"] = part
        elif part.startswith("late") and part.endswith("s"):
            start = float(part[4:-1])
            found["start"] = "0-1 s" if start <= 1 else "2-6 s" if start <= 6 else "8-12 s"
        elif part == "clean":
            found["noise"] = "clean"
        elif (noisy := re.fullmatch(r"([a-z-]+?)(\d+dB)", part)) is not None:
            found["noise"], found["snr"] = noisy.group(1), noisy.group(2)
        elif part in ("alaw", "pcm"):
            found["line"] = "A-law" if part == "alaw" else "linear"
        elif part.startswith("loss"):
            found["loss"] = "no loss" if part == "loss0" else f"{part[4:]} % lost"
    return found


def _table(
    results: list[Result], dimension: str, columns: list[tuple[str, Callable[[Result], bool]]]
) -> list[str]:
    groups: dict[str, list[Result]] = defaultdict(list)
    for r in results:
        value = categories(r.path.name).get(dimension)
        if value is not None:
            groups[value].append(r)
    if not groups:
        return []
    lines = [f"  {dimension:<12}{'clips':>7}" + "".join(f"{title:>14}" for title, _ in columns)]
    for value in sorted(groups, key=lambda v: (len(v), v)):
        mine = groups[value]
        lines.append(
            f"  {value:<12}{len(mine):>7}" + "".join(f"{sum(map(test, mine)):>14}" for _, test in columns)
        )
    return lines


def report(results: list[Result]) -> str:
    genuine = [r for r in results if r.expected == "genuine"]
    silent = [r for r in results if r.expected == "no-speech"]
    below = [r for r in genuine if r.below_normal]
    lines = [f"genuine callers ranked below normal: {len(below)} of {len(genuine)}"]
    procedure = [r for r in silent if r.silent_procedure]
    share = 100 * len(procedure) / max(1, len(silent))
    lines.append(
        f"no-speech clips to the silent-call procedure: {len(procedure)} of {len(silent)} ({share:.1f} %); "
        f"at the silent level when nobody answers: {sum(r.outcome == SILENT for r in silent)}"
    )
    if genuine:
        lines.append("genuine callers, by category:")
        columns: list[tuple[str, Callable[[Result], bool]]] = [
            ("Silero", lambda r: r.outcome == HEARD),
            ("cue only", lambda r: r.outcome == KEPT),
            ("below normal", lambda r: r.below_normal),
        ]
        for dimension in ("kind", "voice", "language", "level", "start", "noise", "snr", "line", "loss"):
            lines += _table(genuine, dimension, columns)
    if silent:
        lines.append("no-speech clips, by kind:")
        columns = [
            ("procedure", lambda r: r.silent_procedure),
            ("kept normal", lambda r: r.outcome == KEPT),
            ("called speech", lambda r: r.outcome == HEARD),
        ]
        lines += _table(silent, "kind", columns)
    audio = sum(r.audio_seconds for r in results)
    cpu = sum(r.seconds for r in results)
    lines.append(f"CPU per screened second of audio: {1000 * cpu / max(audio, 1e-9):.1f} ms")
    for r in (r for r in results if r.keywords):
        lines.append(f"keywords in {r.path.parent.name}/{r.path.name}: {', '.join(r.keywords)}")
    wrong = below + [r for r in silent if not r.silent_procedure]
    lines.append("failures:" if wrong else "failures: none")
    for r in wrong:
        f = r.features
        lines.append(f"  {r.path.parent.name}/{r.path.name}: {r.outcome} (Silero {f.speech_seconds:.2f} s, "
                     f"second cue {f.cue_speech_seconds:.2f} s, sound {f.sound_seconds:.2f} s)")  # fmt: skip
    return "\n".join(lines)
