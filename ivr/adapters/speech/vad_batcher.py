"""One worker thread judges every screened call's audio: Silero once per 32 ms window
position for all calls at once, and the second cue, off the event loop.

Rules:
- The event loop only hands bytes over (feed: a list append under a lock) and awaits
  results (finish); it never computes audio. The worker runs a round at most once per
  ROUND_SECONDS while audio only arrives (calls hand audio over at different moments: a
  round per hand-over would judge one call at a time, at several times the cost per
  window), and at once when a call asks for its features. A round takes everything
  handed over so far, feeds each call's detector, then judges all their whole windows
  with judge_windows() (one inference per window position for every call).
- A call's result does not depend on which calls shared its batches (rows are independent).
- features() answers with what was heard so far (measured on a copy, so the call is fed
  on; the second cue only while Silero's speech is under what a verdict needs, when the
  caller gives that); finish() answers at the end. Both answer after everything fed before was judged;
  the last step (the tail
  window and the second cue's analysis of the whole call, the costly part) runs in a
  pool of FINISHERS threads, so calls ending together neither wait for each other one by
  one nor hold up the judging of the calls still speaking. A failure in the worker
  answers every waiting finish() with the error (the screener fails open on it) and the
  worker goes on with the next calls.
- Its threads run below the event loop's and Asterisk's priority (thread_priority.py): on
  a saturated machine screening falls behind, never the calls.
- stats() says how far behind the worker is (audio handed over and not yet judged) and
  what it costs: the figures the admission and the benchmarks use.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial

import numpy as np

from ivr.adapters.speech import silero
from ivr.adapters.speech.vad import SpeechDetector, SpeechFeatures, judge_windows
from ivr.adapters.thread_names import name_this_thread
from ivr.adapters.thread_priority import yield_to_calls

log = logging.getLogger(__name__)

FINISHERS = 2  # threads finishing calls (numpy releases the GIL: one per core here)
ROUND_SECONDS = 0.2  # while calls only hand audio over: one hand-over (all calls in one round)

# A call waiting for an answer: its detector, the answer, and (for features()) the speech
# from which the second cue is not measured.
Asked = tuple[SpeechDetector, Future[SpeechFeatures], float | None]


class VadBatcher:
    def __init__(self, cue: bool = True) -> None:
        self._cue = cue
        self._lock = threading.Lock()
        self._wake = threading.Event()  # audio or a question arrived
        self._asked = threading.Event()  # a call waits for an answer: no waiting for the round
        self._inbox: dict[SpeechDetector, list[bytes]] = {}
        self._finishing: list[Asked] = []
        self._measuring: list[Asked] = []
        self._stopping = False
        self._oldest_waiting: float | None = None  # when the oldest audio not yet taken arrived
        self._oldest_taken: float | None = None  # when the oldest audio being judged arrived
        self._busy_seconds = 0.0  # the worker's thread CPU time
        self._rounds = 0
        self._windows = 0
        self._widest = 0
        try:  # loaded now, so that a missing model is said at start, not at the first call
            silero.shared()
        except (silero.ModelMissing, OSError) as exc:
            log.error("speech detection unavailable, calls go unscreened: %s", exc)
        self._finishers = ThreadPoolExecutor(FINISHERS, "vad-finish", initializer=_screening_thread)
        self._thread = threading.Thread(target=self._run, name="vad-batcher", daemon=True)
        self._thread.start()

    def open(self) -> SpeechDetector:
        """A detector for one call, judged by this batcher."""
        return SpeechDetector(cue=self._cue, batched=True)

    def feed(self, detector: SpeechDetector, pcm: bytes) -> None:
        with self._lock:
            self._inbox.setdefault(detector, []).append(pcm)
            if self._oldest_waiting is None:
                self._oldest_waiting = time.monotonic()
        self._wake.set()

    async def finish(self, detector: SpeechDetector) -> SpeechFeatures:
        """The call's features once everything fed before was judged."""
        return await self._ask(detector, measure=False)

    async def features(self, detector: SpeechDetector, cue_below: float | None = None) -> SpeechFeatures:
        """The call's features so far (everything fed before judged); it keeps listening.
        `cue_below`: as SpeechDetector.features."""
        return await self._ask(detector, measure=True, cue_below=cue_below)

    async def _ask(
        self, detector: SpeechDetector, measure: bool, cue_below: float | None = None
    ) -> SpeechFeatures:
        return await asyncio.wrap_future(self.ask(detector, measure, cue_below))

    def ask(
        self, detector: SpeechDetector, measure: bool, cue_below: float | None = None
    ) -> Future[SpeechFeatures]:
        """As features() (measure) or finish(), from any thread: the answer comes on one of
        the batcher's threads."""
        done: Future[SpeechFeatures] = Future()
        with self._lock:  # the list is chosen under the lock: the worker swaps it for a new one
            if self._stopping:
                raise RuntimeError("the speech detector is stopped")
            (self._measuring if measure else self._finishing).append((detector, done, cue_below))
        self._asked.set()
        self._wake.set()
        return done

    def stats(self) -> dict[str, float]:
        with self._lock:
            since = [t for t in (self._oldest_taken, self._oldest_waiting) if t is not None]
            behind = time.monotonic() - min(since) if since else 0.0
        return {
            "behind_seconds": round(behind, 3),
            "busy_seconds": round(self._busy_seconds, 3),
            "rounds": self._rounds,
            "windows": self._windows,
            "widest_batch": self._widest,
        }

    def close(self) -> None:
        with self._lock:
            self._stopping = True
            waiting, self._finishing = [*self._finishing, *self._measuring], []
            self._measuring = []
        for _, done, _ in waiting:
            done.set_exception(RuntimeError("the speech detector stopped"))
        self._asked.set()
        self._wake.set()
        self._thread.join(timeout=5)
        self._finishers.shutdown(wait=False, cancel_futures=True)

    def _run(self) -> None:
        _screening_thread()
        last_round = 0.0
        while True:
            self._wake.wait()
            self._asked.wait(last_round + ROUND_SECONDS - time.monotonic())  # gather the calls' audio
            last_round = time.monotonic()
            with self._lock:
                self._wake.clear()
                self._asked.clear()
                if self._stopping:
                    return
                inbox, self._inbox = self._inbox, {}
                finishing, self._finishing = self._finishing, []
                measuring, self._measuring = self._measuring, []
                self._oldest_taken, self._oldest_waiting = self._oldest_waiting, None
            started = time.thread_time()
            try:
                live = [d for d in inbox if not d.finished]  # audio after a call's end: dropped
                for detector in live:
                    detector.feed(b"".join(inbox[detector]))
                judged = judge_windows(live)
                self._rounds += 1
                self._windows += judged
                self._widest = max(self._widest, len(live))
                for detector, done, _ in finishing:
                    self._finishers.submit(_answer, detector.finish, done)
                for detector, done, cue_below in measuring:  # measured on a copy: the call is fed on
                    self._finishers.submit(_answer, partial(detector.copy().features, cue_below), done)
            except Exception as exc:  # the calls waiting now fail open; the worker goes on
                log.exception("speech detection failed")
                for _, done, _ in [*finishing, *measuring]:
                    if not done.done():
                        done.set_exception(exc)
            finally:
                with self._lock:
                    self._oldest_taken = None
                self._busy_seconds += time.thread_time() - started


def cost_per_call_second(streams: int = 32, seconds: float = 2.0) -> float:
    """CPU seconds speech detection spends per second of one call's audio, measured on this
    machine (this thread's CPU time, so other load does not inflate it): `streams` calls
    of a synthetic line (noise, and a voiced tone that comes and goes) fed 200 ms at a time
    and judged together as the worker does, then measured as a report measures them.
    It uses the shared model: run it only while the worker has no call (at start)."""
    rng = np.random.default_rng(7)
    t = np.arange(int(8000 * seconds)) / 8000
    voiced = 3000 * np.sin(2 * np.pi * 180 * t) * (np.sin(2 * np.pi * 1.5 * t) > 0)
    pcm = np.clip(voiced + rng.normal(0, 300, t.size), -32768, 32767).astype("<i2").tobytes()
    step = 3200  # 200 ms of 16-bit samples
    warm = [SpeechDetector(batched=True) for _ in range(4)]
    for detector in warm:  # the model's first inferences allocate: not a call's cost
        detector.feed(pcm[: 4 * step])
    judge_windows(warm)
    detectors = [SpeechDetector(batched=True) for _ in range(streams)]
    started = time.thread_time()
    for at in range(0, len(pcm), step):
        for detector in detectors:
            detector.feed(pcm[at : at + step])
        judge_windows(detectors)
    for detector in detectors:
        detector.copy().features()
    return (time.thread_time() - started) / (streams * seconds)


def _screening_thread() -> None:
    """Named for the operator, and yielding the CPU to call handling (thread_priority.py)."""
    name_this_thread()
    yield_to_calls()


def capacity(most: int, cpu_share: float, cost: float | None) -> int:
    """How many calls speech detection takes at once within `cpu_share` of one core (at
    most `most`), at `cost` CPU seconds per call-second as measured by
    cost_per_call_second(); 0 when it could not be measured (the model is missing: every
    caller is then screened by energy)."""
    if cost is None:
        return 0
    fits = int(cpu_share / cost) if cost > 0 else most
    log.info(
        "speech detection costs %.2f ms of CPU per call-second here: %d calls at once in %.0f%% of a core%s",
        cost * 1000,
        fits,
        cpu_share * 100,
        f" (capped at {most})" if fits > most else "",
    )
    return min(most, fits)


def _answer(measure: Callable[[], SpeechFeatures], done: Future[SpeechFeatures]) -> None:
    try:
        done.set_result(measure())
    except Exception as exc:  # this call fails open; the others go on
        log.exception("speech detection failed at the end of a call")
        done.set_exception(exc)
