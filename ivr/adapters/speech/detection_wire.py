"""The messages between the control plane and its speech-detection process.

Rules:
- One message per packet of a SOCK_SEQPACKET socket pair: its boundaries are kept, it is
  never split, and a call's RTP socket travels with the OPEN message that names the call.
- A message is its kind (1 byte) and a JSON object, except AUDIO: the kind, the call id's
  length (1 byte), the call id, then the call's PCM (8 kHz native int16).
- Both ends are this program, but a message that does not parse raises WireError (the
  reader logs it and goes on), never anything else.
"""

from __future__ import annotations

import json
from typing import Any

# control plane -> process
OPEN = b"O"  # {"call", "recognizing"} + the call's bound RTP socket
ASK = b"Q"  # {"id", "call", "cue_below"}: the call's features so far
CLOSE = b"C"  # {"call"}: the call's screening is over
# process -> control plane
READY = b"R"  # {"cost", "error"}: started (cost: CPU seconds per call-second, when measured)
ANSWER = b"A"  # {"id", "features"} or {"id", "error"}
AUDIO = b"P"  # a call's audio for its recognizer (only while one listens)
STATS = b"S"  # how far behind speech detection is, and what it costs
LOG = b"L"  # {"level", "logger", "message"}: a log record of the process

KINDS = {OPEN, ASK, CLOSE, READY, ANSWER, AUDIO, STATS, LOG}
MAX_MESSAGE = 65536  # bytes: the largest is AUDIO of one batch (3,200 bytes of PCM)


class WireError(ValueError):
    """A message that does not parse; the text says how."""


def encode(kind: bytes, body: dict[str, Any]) -> bytes:
    return kind + json.dumps(body, separators=(",", ":")).encode()


def encode_audio(call_id: str, pcm: bytes) -> bytes:
    name = call_id.encode()
    if len(name) > 255:
        raise WireError(f"call id too long for an AUDIO message ({len(name)} bytes)")
    return AUDIO + bytes((len(name),)) + name + pcm


def decode(message: bytes) -> tuple[bytes, dict[str, Any]]:
    """(kind, body) of a message other than AUDIO."""
    kind = message[:1]
    if kind not in KINDS or kind == AUDIO:
        raise WireError(f"unknown message kind {kind!r}")
    try:
        body = json.loads(message[1:])
    except ValueError as exc:
        raise WireError(f"{kind.decode()} message is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise WireError(f"{kind.decode()} message is not a JSON object")
    return kind, body


def decode_audio(message: bytes) -> tuple[str, bytes]:
    """(call id, PCM) of an AUDIO message."""
    if message[:1] != AUDIO or len(message) < 2 or len(message) < 2 + message[1]:
        raise WireError("truncated AUDIO message")
    end = 2 + message[1]
    try:
        return message[2:end].decode(), message[end:]
    except UnicodeDecodeError as exc:
        raise WireError(f"AUDIO message's call id: {exc}") from exc
