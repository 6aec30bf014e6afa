"""CPU per screened call-second: the speech detection a call runs (Silero alone, then
Silero with the second speech cue, one call at a time; then all the calls side by side,
judged in one batch every 200 ms as the screener runs them), on the same clips of the
corpus's dev split, in the same run. Prints figures and ratios; asserts nothing (the
goals: the cue adds at most 20 %; batching makes screening cheaper, not dearer).

    python -m benchmarks.screening_cpu [--clips 40] [--rounds 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from ivr.adapters.speech.vad import SpeechDetector, judge_windows
from ivr.tools import screening_corpus as corpus

PACKET = 160  # 20 ms at 8 kHz: what the call's audio arrives in
BATCH = 10 * PACKET  # what the screener hands the batcher at once


def cpu_per_second(clips: list[np.ndarray], cue: bool) -> float:
    """CPU seconds per second of audio screened."""
    audio = sum(pcm.size for pcm in clips) / corpus.audio.RATE
    started = time.process_time()
    for pcm in clips:
        detector = SpeechDetector(cue=cue)
        for offset in range(0, pcm.size, PACKET):
            detector.feed(pcm[offset : offset + PACKET])
        detector.finish()
    return (time.process_time() - started) / audio


def cpu_per_second_batched(clips: list[np.ndarray]) -> float:
    """CPU seconds per second of audio, all clips screened side by side (the screener's way)."""
    audio = sum(pcm.size for pcm in clips) / corpus.audio.RATE
    started = time.process_time()
    detectors = [SpeechDetector(batched=True) for _ in clips]
    for at in range(0, max(pcm.size for pcm in clips), BATCH):
        for detector, pcm in zip(detectors, clips, strict=True):
            for offset in range(at, min(at + BATCH, pcm.size), PACKET):
                detector.feed(pcm[offset : offset + PACKET])
        judge_windows(detectors)
    for detector in detectors:
        detector.finish()
    return (time.process_time() - started) / audio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--clips", type=int, default=40, help="clips of the dev split (genuine and no-speech)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; the best of each is kept")
    args = parser.parse_args()
    plan = corpus.plan("dev")
    chosen = plan[:: max(1, len(plan) // args.clips)][: args.clips]
    clips = [corpus.samples(clip) for clip in chosen]
    seconds = sum(pcm.size for pcm in clips) / corpus.audio.RATE
    print(f"{len(clips)} clips, {seconds:.0f} s of audio, fed in 20 ms packets")
    silero, both, batched = [], [], []
    for _ in range(args.rounds):  # alternate, so that a busy moment hits all alike
        silero.append(cpu_per_second(clips, cue=False))
        both.append(cpu_per_second(clips, cue=True))
        batched.append(cpu_per_second_batched(clips))
    before, after, together = min(silero), min(both), min(batched)
    print(f"Silero alone, one call at a time:            {1000 * before:6.2f} ms CPU per call-second")
    print(f"Silero + the second cue, one call at a time: {1000 * after:6.2f} ms")
    print(f"Silero + the second cue, {len(clips)} calls batched:  {1000 * together:6.2f} ms")
    print(f"the second cue: {after / before:.2f}x Silero alone (goal: at most 1.20)")
    print(f"batched: {together / after:.2f}x one call at a time")


if __name__ == "__main__":
    main()
