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
- Reception runs off the event loop: one RtpReader thread waits on every call's socket
  (epoll), drains what arrived and runs the jitter buffer, so packets never wake the event
  loop; it passes at most every PASS_SECONDS (20 ms, one packet), so it competes with the
  event loop for the interpreter a few dozen times a second, not once per packet. The
  on_frame callback gets every frame, in order, on that thread (it must be quick and
  thread-safe); frames never go through the event loop.
- close() is idempotent and safe at any moment: buffered frames are flushed to on_frame,
  and the port is free again when close() returns.
"""

from __future__ import annotations

import array
import contextlib
import logging
import select
import socket
import struct
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from ivr.adapters.thread_names import name_this_thread

log = logging.getLogger(__name__)

RTP_VERSION = 2
RTP_HEADER_BYTES = 12
SEQ_MOD = 1 << 16
FRAME_SAMPLES = 160  # 20 ms at 8 kHz
MAX_GAP = 50  # frames (1 s): a bigger forward jump restarts the stream instead of filling it
RECENT = 128  # delivered sequence numbers remembered to tell duplicates from late packets
DRAIN_LIMIT = 64  # packets read from one socket per pass (then the others get their turn)
PASS_SECONDS = 0.02  # the reader's cadence: one packet per call per pass at most, on average

FrameCallback = Callable[[bytes], None]


class PortsExhaustedError(OSError):
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


class RtpReader:
    """One thread that receives every call's RTP: it waits on all the receivers' sockets at
    once and hands each arriving packet to its receiver. Started on first use."""

    _shared: RtpReader | None = None

    def __init__(self) -> None:
        self._poll = select.epoll()
        self._receivers: dict[int, RtpReceiver] = {}  # by socket descriptor
        self._thread = threading.Thread(target=self._run, name="rtp-reader", daemon=True)
        self._thread.start()

    @classmethod
    def shared(cls) -> RtpReader:
        if cls._shared is None:
            cls._shared = cls()
        return cls._shared

    def add(self, receiver: RtpReceiver, sock: socket.socket) -> None:
        self._receivers[sock.fileno()] = receiver
        self._poll.register(sock.fileno(), select.EPOLLIN)

    def remove(self, sock: socket.socket) -> None:
        fd = sock.fileno()
        self._receivers.pop(fd, None)
        with contextlib.suppress(OSError, ValueError):  # already gone
            self._poll.unregister(fd)

    def _run(self) -> None:
        name_this_thread()
        last_pass = 0.0
        while True:
            # a pass at most every PASS_SECONDS: what arrived meanwhile waits in the sockets
            # and is read in one go, so the thread takes the interpreter from the event loop
            # a few dozen times a second, not once per packet
            time.sleep(max(0.0, last_pass + PASS_SECONDS - time.monotonic()))
            try:
                ready = self._poll.poll(1.0)
            except InterruptedError:
                continue
            last_pass = time.monotonic()
            for fd, _ in ready:
                receiver = self._receivers.get(fd)
                if receiver is None:
                    continue
                try:
                    receiver.drain()
                except Exception:  # one call's failure must not stop every call's reception
                    log.exception("RTP reception on port %d failed", receiver.port)


class RtpReceiver:
    """Receives one call's RTP on one port and delivers its PCM frames in order."""

    def __init__(
        self,
        ports: RtpPorts | None,
        sock: socket.socket,
        depth: int,
        on_frame: FrameCallback,
        reader: RtpReader,
    ) -> None:
        self._ports = ports
        self._sock = sock
        self.port: int = sock.getsockname()[1]
        self.depth = depth
        self.stats = RtpStats()
        self._on_frame = on_frame
        self._reader = reader
        self._lock = threading.Lock()  # the reader thread's turn, or close()
        self._closing = False
        self._next: int | None = None
        self._ssrc: int | None = None
        self._pending: dict[int, bytes] = {}
        self._recent: deque[int] = deque(maxlen=RECENT)
        self._recent_set: set[int] = set()
        self._frame_bytes = FRAME_SAMPLES * 2

    @classmethod
    def open(
        cls,
        ports: RtpPorts,
        on_frame: FrameCallback,
        host: str | None = None,
        *,
        depth: int = 3,
        reader: RtpReader | None = None,
    ) -> RtpReceiver:
        """Bind a port of `ports` and start receiving; frames go to on_frame, called on the
        reader thread."""
        return cls.adopt(ports.allocate(host), on_frame, depth=depth, reader=reader, ports=ports)

    @classmethod
    def adopt(
        cls,
        sock: socket.socket,
        on_frame: FrameCallback,
        *,
        depth: int = 3,
        reader: RtpReader | None = None,
        ports: RtpPorts | None = None,
    ) -> RtpReceiver:
        """Start receiving on a bound UDP socket (made non-blocking); close() closes it and
        gives its port back to `ports`, when it came from there."""
        if depth < 1:
            sock.close()
            raise ValueError("jitter buffer depth must be at least 1 frame")
        sock.setblocking(False)
        receiver = cls(ports, sock, depth, on_frame, reader or RtpReader.shared())
        try:
            receiver._reader.add(receiver, sock)
        except BaseException:
            sock.close()
            if ports is not None:
                ports.release(receiver.port)
            raise
        return receiver

    def drain(self) -> None:
        """Read what arrived (the reader thread)."""
        with self._lock:
            for _ in range(DRAIN_LIMIT):
                if self._closing:
                    return
                try:
                    data = self._sock.recv(2048)
                except (BlockingIOError, InterruptedError):
                    return
                except OSError as exc:  # e.g. ICMP port unreachable from an earlier send: not fatal
                    log.debug("RTP socket on port %d: %s", self.port, exc)
                    return
                self._packet(data)

    def _packet(self, data: bytes) -> None:
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

    def close(self) -> None:
        """Flush, close the socket and give the port back. Idempotent, from any thread."""
        with self._lock:  # after the reader thread's current turn for this call
            if self._closing:
                return
            self._reader.remove(self._sock)
            self._flush()
            self._closing = True
            self._sock.close()
            if self._ports is not None:
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
        try:
            self._on_frame(frame)
        except Exception:  # a faulty consumer must not stop the reception
            log.exception("RTP frame consumer on port %d failed", self.port)


def _to_native(payload: bytes) -> bytes:
    samples = array.array("h", payload)  # network order in, this machine's order out
    if sys.byteorder == "little":
        samples.byteswap()
    return samples.tobytes()
