"""Writes RFC 4733 DTMF (telephone-event) RTP into a pcap file that SIPp's play_pcap_audio sends.

Each digit is its own event with its own RTP timestamp (a receiver treats packets with
the same timestamp as one event, so replaying one digit's capture twice is one press):
a marker packet, then one packet per 20 ms with a growing duration, then the end packet
three times, as RFC 4733 section 2.5.1 describes. SIPp only reads the UDP payload and
the capture times; the addresses are placeholders it replaces.
"""

from __future__ import annotations

import struct
from pathlib import Path

PAYLOAD_TYPE = 101
EVENTS = {**{str(d): d for d in range(10)}, "*": 10, "#": 11}
SAMPLES_PER_PACKET = 160  # 20 ms at 8 kHz


def _rtp(seq: int, timestamp: int, marker: bool, payload: bytes) -> bytes:
    first = 0x80
    second = PAYLOAD_TYPE | (0x80 if marker else 0)
    return struct.pack("!BBHII", first, second, seq & 0xFFFF, timestamp & 0xFFFFFFFF, 0x1121) + payload


def _frame(rtp: bytes) -> bytes:
    udp = struct.pack("!HHHH", 6000, 6000, 8 + len(rtp), 0) + rtp
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     bytes([127, 0, 0, 2]), bytes([127, 0, 0, 1])) + udp  # fmt: skip
    return b"\x00" * 12 + b"\x08\x00" + ip


def write(path: Path, digits: str, tone_ms: int = 160, gap_ms: int = 400) -> Path:
    """A capture pressing `digits` one after the other, each held tone_ms, gap_ms apart."""
    packets: list[tuple[float, bytes]] = []
    seq, at = 1, 0.0
    for digit in digits:
        event = EVENTS[digit]
        timestamp = int(at * 8000)
        steps = max(1, tone_ms // 20)
        for step in range(steps):
            duration = (step + 1) * SAMPLES_PER_PACKET
            payload = struct.pack("!BBH", event, 10, duration)
            packets.append((at + step * 0.02, _rtp(seq, timestamp, step == 0, payload)))
            seq += 1
        end = struct.pack("!BBH", event, 0x80 | 10, steps * SAMPLES_PER_PACKET)
        for repeat in range(3):
            packets.append((at + (steps + repeat) * 0.02, _rtp(seq, timestamp, False, end)))
            seq += 1
        at += (steps + 3) * 0.02 + gap_ms / 1000
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for when, rtp in packets:
        frame = _frame(rtp)
        seconds = 1_800_000_000 + int(when)
        out.append(struct.pack("<IIII", seconds, int((when % 1) * 1e6), len(frame), len(frame)) + frame)
    path.write_bytes(b"".join(out))
    return path
