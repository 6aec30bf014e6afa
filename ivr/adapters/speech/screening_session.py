"""One screened call's parts: what it hears (Listening), what it holds (Session, or Light
when screened by energy and keys only), and what the core is given (screening_features).

Rules: Listening runs on the RTP reader thread and only hands audio over (to speech
detection BATCH_FRAMES at a time, and to the recognizer's queue through the event loop);
a Session is released by the screener on every path; screening_features is pure.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from ivr.adapters.reputation_store import Reputation
from ivr.adapters.speech.recognizers import Worker
from ivr.adapters.speech.rtp_receiver import RtpReceiver
from ivr.adapters.speech.vad import SpeechDetector, SpeechFeatures
from ivr.adapters.speech.vad_batcher import VadBatcher
from ivr.core.screening import Features

BATCH_FRAMES = 10  # 20 ms frames per detector / recognizer batch


class Listening:
    """One call's frames, on the RTP reader thread: handed to speech detection BATCH_FRAMES
    at a time, and queued for the recognizer (fed on the event loop) while one listens."""

    def __init__(self, vad: VadBatcher, detector: SpeechDetector, recognizing: bool) -> None:
        self._vad = vad
        self._detector = detector
        self._loop = asyncio.get_running_loop()
        self._batch = bytearray()
        self.chunks: asyncio.Queue[bytes | None] | None = asyncio.Queue() if recognizing else None

    def __call__(self, frame: bytes) -> None:
        self._batch += frame
        if len(self._batch) < BATCH_FRAMES * len(frame):
            return
        chunk = bytes(self._batch)
        self._batch.clear()
        self._vad.feed(self._detector, chunk)
        if self.chunks is not None:
            self._loop.call_soon_threadsafe(self.chunks.put_nowait, chunk)

    def end(self) -> None:
        """No more audio for the recognizer (its feeding task ends)."""
        if self.chunks is not None:
            self.chunks.put_nowait(None)


@dataclass
class Light:
    """A call screened by sound energy and keys: why, and its reputation lookup."""

    reason: str
    reputation: asyncio.Task[Reputation | None]


@dataclass
class Session:
    call_id: str
    caller_number: str
    receiver: RtpReceiver
    listening: Listening
    detector: SpeechDetector
    worker: Worker | None
    started: float
    consumer: asyncio.Task[None] | None = None  # feeds the recognizer
    reputation: asyncio.Task[Reputation | None] | None = None
    recognizer_error: str = ""
    media_down: bool = False
    released: bool = False
    words: tuple[tuple[str, ...], str] | None = None  # the recognizer's final result, once given
    recognizer_turn: asyncio.Lock = field(default_factory=asyncio.Lock)  # feeding, or asking for the words


def screening_features(
    speech: SpeechFeatures,
    words: tuple[str, ...],
    keywords: tuple[str, ...],
    reputation: Reputation | None,
    blocking: bool,
) -> Features:
    """What the core decides on: the speech measured, the keywords among the words heard,
    the number's reputation."""
    wanted = set(keywords)
    return Features(
        speech_seconds=speech.speech_seconds,
        cue_speech_seconds=speech.cue_speech_seconds,
        speech_segments=speech.speech_segments,
        first_speech_delay=speech.first_speech_seconds,
        sound_seconds=speech.sound_seconds,
        keywords=tuple(dict.fromkeys(w for w in words if w in wanted)),
        keywords_supported=bool(keywords),
        prank_reports=reputation.prank if reputation else 0,
        genuine_reports=reputation.genuine if reputation else 0,
        blocked=blocking and reputation is not None and reputation.blocked_until is not None,
    )
