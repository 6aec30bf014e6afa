"""CPU per screened call-second: the speech detection a call runs (Silero alone, then
Silero with the second speech cue), on the same clips of the corpus's dev split, in the
same run. Prints figures and the ratio; asserts nothing (the goal: the cue adds at most
20 %, since screening must get cheaper, not dearer).

    python -m benchmarks.screening_cpu [--clips 40] [--rounds 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from ivr.adapters.speech.vad import SpeechDetector
from ivr.tools import screening_corpus as corpus

PACKET = 160  # 20 ms at 8 kHz: what the call's audio arrives in


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
    silero, both = [], []
    for _ in range(args.rounds):  # alternate, so that a busy moment hits both alike
        silero.append(cpu_per_second(clips, cue=False))
        both.append(cpu_per_second(clips, cue=True))
    before, after = min(silero), min(both)
    print(f"Silero alone (before):            {1000 * before:6.2f} ms CPU per screened call-second")
    print(f"Silero + the second cue (after):  {1000 * after:6.2f} ms CPU per screened call-second")
    print(f"ratio after / before: {after / before:.2f} (goal: at most 1.20)")


if __name__ == "__main__":
    main()
