"""One call's RTP audio from Asterisk externalMedia (chan_rtp, format=slin), as PCM frames.

Rules:
- A port comes from RtpPorts, is bound before it is handed out (a port in use elsewhere is
  skipped) and goes back to the range only once its socket is closed.
- The payload is 8 kHz 16-bit big-endian signed PCM; frames leave as native-endian int16 bytes.
- A packet that does not parse (short, not version 2, bad CSRC/extension/padding lengths, odd
  payload) is counted as malformed and dropped; nothing a peer sends ever raises.
- A small jitter buffer keyed by the 16-bit sequence number (wraparound included) delivers
  frames in order; a missing frame is filled with one frame of silence once `depth` later
  frames have arrived; duplicates and packets older than the play-out point are dropped.
- A jump of more than MAX_GAP frames, or a new SSRC, is a new stream: the buffer restarts there.
- close() is idempotent and safe at any moment: buffered frames are flushed, the iterator of
  frames() ends, and the port is free again when close() returns.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import cast

import numpy as np

log = logging.getLogger(__name__)

RTP_VERSION = 2
RTP_HEADER_BYTES = 12
SEQ_MOD = 1 << 16
FRAME_SAMPLES = 160  # 20 ms at 8 kHz
MAX_GAP = 50  # frames (1 s): a bigger forward jump restarts the stream instead of filling it
RECENT = 128  # delivered sequence numbers remembered to tell duplicates from late packets
QUEUE_LIMIT = 500  # frames (10 s) buffered for a frames() consumer that falls behind

FrameCallback = Callable[[bytes], None]


class PortsExhaustedError(RuntimeError):
    """No port of the RTP range could be bound."""


class RtpPorts:
    """A range of UDP ports, handed out round robin, each bound before it is returned."""

    def __init__(self, first: int, last: int, host: str = "127.0.0.1") -> None:
        if not 0 < first <= last < SEQ_MOD:
            raise ValueError(f"bad RTP port range {first}-{last}")
        self.first, self.last, self.host = first, last, host
        self._in_use: set[int] = set()
        self._cursor = first

    @property
    def in_use(self) -> frozenset[int]:
        return frozenset(self._in_use)

    def allocate(self, host: str | None = None) -> socket.socket:
        """A non-blocking UDP socket bound to a free port of the range."""
        size = self.last - self.first + 1
        for i in range(size):
            port = self.first + (self._cursor - self.first + i) % size
            if port in self._in_use:
                continue
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                sock.bind((host or self.host, port))
            except OSError:
                sock.close()
                continue
            sock.setblocking(False)
            self._in_use.add(port)
            self._cursor = port + 1 if port < self.last else self.first
            return sock
        raise PortsExhaustedError(
            f"no free RTP port in {self.first}-{self.last} on {host or self.host} "
            f"({len(self._in_use)} held by calls, the rest in use elsewhere)"
        )

    def release(self, port: int) -> None:
        self._in_use.discard(port)


@dataclass
class RtpStats:
    received: int = 0  # packets accepted into the jitter buffer
    lost: int = 0  # frames filled with silence
    late: int = 0  # packets that arrived after their place was played out
    duplicates: int = 0
    malformed: int = 0
    overflowed: int = 0  # frames dropped because the frames() consumer fell behind


def parse_rtp(packet: bytes) -> tuple[int, int, bytes] | None:
    """(sequence, ssrc, payload) of a valid RTP packet, None for anything else."""
    if len(packet) < RTP_HEADER_BYTES:
        return None
    b0 = packet[0]
    if b0 >> 6 != RTP_VERSION:
        return None
    seq, _timestamp, ssrc = struct.unpack_from("!HII", packet, 2)
    start = RTP_HEADER_BYTES + 4 * (b0 & 0x0F)
    if b0 & 0x10:  # extension header: profile (16 bits), length in 32-bit words (16 bits)
        if len(packet) < start + 4:
            return None
        (words,) = struct.unpack_from("!H", packet, start + 2)
        start += 4 + 4 * words
    end = len(packet)
    if b0 & 0x20:  # padding: the last byte counts the padding bytes, itself included
        pad = packet[-1]
        if pad == 0:
            return None
        end -= pad
    if end <= start or end > len(packet) or (end - start) % 2:
        return None
    return seq, ssrc, packet[start:end]


class RtpReceiver(asyncio.DatagramProtocol):
    """Receives one call's RTP on one port and delivers its PCM frames in order."""

    def __init__(self, ports: RtpPorts, port: int, depth: int, on_frame: FrameCallback | None) -> None:
        self._ports = ports
        self.port = port
        self.depth = depth
        self.stats = RtpStats()
        self._on_frame = on_frame
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._transport: asyncio.DatagramTransport | None = None
        self._closed = asyncio.Event()
        self._closing = False
        self._next: int | None = None
        self._ssrc: int | None = None
        self._pending: dict[int, bytes] = {}
        self._recent: deque[int] = deque(maxlen=RECENT)
        self._recent_set: set[int] = set()
        self._frame_bytes = FRAME_SAMPLES * 2

    @classmethod
    async def open(
        cls,
        ports: RtpPorts,
        host: str | None = None,
        *,
        depth: int = 3,
        on_frame: FrameCallback | None = None,
    ) -> RtpReceiver:
        """Bind a port of `ports` and start receiving; frames go to on_frame, else to frames()."""
        if depth < 1:
            raise ValueError("jitter buffer depth must be at least 1 frame")
        sock = ports.allocate(host)
        port = sock.getsockname()[1]
        receiver = cls(ports, port, depth, on_frame)
        try:
            await asyncio.get_running_loop().create_datagram_endpoint(lambda: receiver, sock=sock)
        except BaseException:
            sock.close()
            ports.release(port)
            raise
        return receiver

    # asyncio.DatagramProtocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None:
            log.warning("RTP socket on port %d lost: %s", self.port, exc)
        self._shutdown()
        self._ports.release(self.port)
        self._closed.set()

    def error_received(self, exc: Exception) -> None:
        log.debug("RTP socket on port %d: %s", self.port, exc)

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        if self._closing:
            return
        parsed = parse_rtp(data)
        if parsed is None:
            self.stats.malformed += 1
            return
        seq, ssrc, payload = parsed
        if ssrc != self._ssrc:
            if self._ssrc is not None:
                self._flush()
            self._ssrc, self._next = ssrc, None
        self._accept(seq, payload)

    # consumer side

    async def frames(self) -> AsyncIterator[bytes]:
        """Frames in order (native int16 PCM, 8 kHz); ends when the receiver closes."""
        while (frame := await self._queue.get()) is not None:
            yield frame

    async def close(self) -> None:
        """Flush, end frames(), close the socket and give the port back. Idempotent."""
        self._shutdown()
        if self._transport is not None:
            self._transport.close()
            await self._closed.wait()
        else:
            self._ports.release(self.port)

    @property
    def closed(self) -> bool:
        return self._closing

    # jitter buffer

    def _accept(self, seq: int, payload: bytes) -> None:
        if self._next is None:
            self._next = seq
        ahead = (seq - self._next) % SEQ_MOD
        if ahead >= SEQ_MOD // 2:  # behind the play-out point
            if seq in self._recent_set:
                self.stats.duplicates += 1
            else:
                self.stats.late += 1
            return
        if seq in self._pending:
            self.stats.duplicates += 1
            return
        if ahead > MAX_GAP:  # a jump, not a loss: play what is held and restart here
            self._flush()
            self._next = seq
        self.stats.received += 1
        self._pending[seq] = payload
        self._drain(final=False)

    def _drain(self, *, final: bool) -> None:
        assert self._next is not None
        while self._pending:
            payload = self._pending.pop(self._next, None)
            if payload is None:
                furthest = max((s - self._next) % SEQ_MOD for s in self._pending)
                if furthest < self.depth and not final:
                    return
                self.stats.lost += 1
                self._deliver(self._next, bytes(self._frame_bytes), received=False)
            else:
                self._frame_bytes = len(payload)
                self._deliver(self._next, _to_native(payload), received=True)
            self._next = (self._next + 1) % SEQ_MOD

    def _flush(self) -> None:
        if self._next is not None and self._pending:
            self._drain(final=True)

    def _deliver(self, seq: int, frame: bytes, *, received: bool) -> None:
        if len(self._recent) == self._recent.maxlen:
            self._recent_set.discard(self._recent[0])
        self._recent.append(seq)
        if received:
            self._recent_set.add(seq)
        if self._on_frame is not None:
            try:
                self._on_frame(frame)
            except Exception:  # a faulty consumer must not stop the reception
                log.exception("RTP frame consumer on port %d failed", self.port)
        elif self._queue.qsize() >= QUEUE_LIMIT:
            self.stats.overflowed += 1
        else:
            self._queue.put_nowait(frame)

    def _shutdown(self) -> None:
        if self._closing:
            return
        self._flush()
        self._closing = True
        self._queue.put_nowait(None)


def _to_native(payload: bytes) -> bytes:
    return np.frombuffer(payload, dtype=">i2").astype(np.int16).tobytes()
