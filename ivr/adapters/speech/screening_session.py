"""One screened call's parts: what it holds (Session, or Light when screened by energy and
keys only), and what the core is given (screening_features).

Rules: a Session is released by the screener on every path; its audio is heard in the
speech-detection process (detection_process.py), which sends back only the recognizer's
share (into `chunks`, fed to the recognizer on the event loop); screening_features is pure.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field

from ivr.adapters.reputation_store import Reputation
from ivr.adapters.speech.recognizers import Worker
from ivr.adapters.speech.vad import SpeechFeatures
from ivr.core.screening import Features


@dataclass
class Light:
    """A call screened by sound energy and keys: why, and its reputation lookup."""

    reason: str
    reputation: asyncio.Task[Reputation | None]


@dataclass
class Session:
    call_id: str
    caller_number: str
    rtp: socket.socket  # bound to the port Asterisk sends the caller's audio to
    worker: Worker | None
    started: float
    chunks: asyncio.Queue[bytes | None] | None = None  # the recognizer's audio, while one listens
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
