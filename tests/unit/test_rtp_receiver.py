# The RTP receiver on real UDP sockets on 127.0.0.1: big-endian slin payloads come out as
# native int16 frames, exactly and in order; reordering is undone, a lost packet becomes one
# frame of silence, duplicates and late packets are dropped and counted, the sequence wraps
# at 65535, malformed packets are counted and never raise; close() ends the frames()
# iterator and frees the port, and allocation skips ports in use and says when none is left;
# reception goes on while the event loop is busy (it runs on its own thread).
from __future__ import annotations

import asyncio
import random
import socket
import struct
import time
from collections.abc import Iterator

import numpy as np
import pytest

from ivr.adapters.speech.rtp_receiver import (
    PortsExhaustedError,
    RtpPorts,
    RtpReceiver,
    parse_rtp,
)

HOST = "127.0.0.1"
SSRC = 0x1234ABCD


def free_range(size: int) -> tuple[int, int]:
    """A range of `size` consecutive UDP ports free right now."""
    rng = random.Random()
    for _ in range(200):
        first = rng.randrange(40000, 60000)
        socks: list[socket.socket] = []
        try:
            for port in range(first, first + size):
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(sock)
                sock.bind((HOST, port))
            return first, first + size - 1
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
    raise RuntimeError("no free port range found")


def frame(n: int) -> np.ndarray:
    """A distinct 20 ms frame of int16 samples for sequence n, including negative values."""
    base = np.arange(160, dtype=np.int32) * 97 - 7000 + n * 13
    return (base % 65536 - 32768).astype(np.int16)


def rtp(seq: int, payload: bytes, *, ssrc: int = SSRC, first: int = 0x80, pt: int = 118) -> bytes:
    return struct.pack("!BBHII", first, pt, seq % 65536, seq * 160 % (1 << 32), ssrc) + payload


def packet(seq: int) -> bytes:
    return rtp(seq, frame(seq).astype(">i2").tobytes())


@pytest.fixture
def ports() -> RtpPorts:
    first, last = free_range(4)
    return RtpPorts(first, last)


@pytest.fixture
def sender() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    yield sock
    sock.close()


async def send(sender: socket.socket, receiver: RtpReceiver, packets: list[bytes]) -> None:
    for data in packets:
        sender.sendto(data, (HOST, receiver.port))
    await asyncio.sleep(0.05)


async def opened(ports: RtpPorts) -> tuple[RtpReceiver, list[bytes]]:
    """A receiver whose frames are kept, in the order it hands them over."""
    frames: list[bytes] = []
    return RtpReceiver.open(ports, frames.append), frames


async def collect(receiver: RtpReceiver, frames: list[bytes]) -> list[np.ndarray]:
    receiver.close()  # flushes what the jitter buffer still holds
    return [np.frombuffer(f, dtype=np.int16) for f in frames]


def same(got: list[np.ndarray], seqs: list[int | None]) -> bool:
    want = [np.zeros(160, np.int16) if s is None else frame(s) for s in seqs]
    return len(got) == len(want) and all(np.array_equal(a, b) for a, b in zip(got, want, strict=True))


async def test_in_order_stream_is_delivered_exactly(ports: RtpPorts, sender: socket.socket) -> None:
    receiver, frames = await opened(ports)
    await send(sender, receiver, [packet(s) for s in range(100, 150)])
    got = await collect(receiver, frames)
    assert same(got, list(range(100, 150)))
    assert got[0][0] == frame(100)[0] and got[0].dtype == np.int16
    assert (receiver.stats.received, receiver.stats.lost, receiver.stats.malformed) == (50, 0, 0)


async def test_reordered_packets_come_out_in_order(ports: RtpPorts, sender: socket.socket) -> None:
    order = [10, 12, 11, 13, 15, 14, 16, 18, 17, 19]
    receiver, frames = await opened(ports)
    await send(sender, receiver, [packet(s) for s in order])
    assert same(await collect(receiver, frames), list(range(10, 20)))
    assert receiver.stats.lost == receiver.stats.late == 0


async def test_lost_packet_becomes_one_silence_frame(ports: RtpPorts, sender: socket.socket) -> None:
    frames: list[bytes] = []
    receiver = RtpReceiver.open(ports, frames.append, depth=3)
    await send(sender, receiver, [packet(s) for s in (1, 2, 4, 5)])
    assert len(frames) == 2  # frame 3 is not yet clearly lost: only 2 later frames arrived
    await send(sender, receiver, [packet(6)])
    assert len(frames) == 6
    got = [np.frombuffer(f, np.int16) for f in frames]
    assert same(got, [1, 2, None, 4, 5, 6])
    assert receiver.stats.lost == 1
    await send(sender, receiver, [packet(3)])  # arrives after its place was filled
    assert receiver.stats.late == 1 and len(frames) == 6
    receiver.close()


async def test_duplicates_are_dropped(ports: RtpPorts, sender: socket.socket) -> None:
    receiver, frames = await opened(ports)
    await send(sender, receiver, [packet(s) for s in (1, 2, 2, 3, 1, 5, 5, 4)])
    assert same(await collect(receiver, frames), [1, 2, 3, 4, 5])
    assert receiver.stats.duplicates == 3 and receiver.stats.received == 5


async def test_sequence_wraps_at_65535(ports: RtpPorts, sender: socket.socket) -> None:
    seqs = [65533, 65534, 65535, 65536, 65537, 65538]
    receiver, frames = await opened(ports)
    await send(sender, receiver, [packet(s) for s in (65533, 65535, 65534, 0, 2, 1)])
    got = await collect(receiver, frames)
    assert same(got, seqs)  # frame(n + 65536) == frame(n): 65536 * 13 wraps to 0
    assert receiver.stats.lost == receiver.stats.late == 0


async def test_malformed_packets_are_counted_not_raised(ports: RtpPorts, sender: socket.socket) -> None:
    good = packet(7)
    bad = [
        b"",
        b"\x80\x76\x00",  # too short
        bytes([0x40]) + good[1:],  # version 1
        bytes([0x83]) + good[1:14],  # three CSRCs announced, not there
        bytes([0x90]) + good[1:12] + b"\x00\x00\xff\xff",  # extension longer than the packet
        bytes([0xA0]) + good[1:-1] + b"\xff",  # padding longer than the packet
        good[:12] + b"\x01\x02\x03",  # odd payload length
        good[:12],  # no payload
    ]
    receiver, frames = await opened(ports)
    await send(sender, receiver, [*bad, good])
    assert receiver.stats.malformed == len(bad)
    assert same(await collect(receiver, frames), [7])


def test_header_fields_are_parsed() -> None:
    payload = b"\x00\x01\xff\xfe"
    csrc_ext = struct.pack("!BBHII", 0x92, 118, 9, 0, SSRC) + b"\x00" * 8 + b"\xbe\xde\x00\x01abcd"
    assert parse_rtp(csrc_ext + payload) == (9, SSRC, payload)
    padded = struct.pack("!BBHII", 0xA0, 118, 10, 0, SSRC) + payload + b"\x00\x00\x00\x04"
    assert parse_rtp(padded) == (10, SSRC, payload)


async def test_close_frees_the_port_and_is_idempotent(ports: RtpPorts) -> None:
    receiver, _ = await opened(ports)
    port = receiver.port
    assert port in ports.in_use
    receiver.close()
    receiver.close()
    assert port not in ports.in_use
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind((HOST, port))  # raises if the receiver leaked its socket
    probe.close()


async def test_allocation_skips_busy_port_and_reports_exhaustion() -> None:
    first, last = free_range(2)
    ports = RtpPorts(first, last)
    other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    other.bind((HOST, first))
    try:
        receiver, _ = await opened(ports)
        assert receiver.port == last
        with pytest.raises(PortsExhaustedError, match=f"no free RTP port in {first}-{last}"):
            await opened(ports)
        receiver.close()
        again, _ = await opened(ports)
        assert again.port == last
        again.close()
    finally:
        other.close()


async def test_audio_is_received_while_the_event_loop_is_busy(ports: RtpPorts, sender: socket.socket) -> None:
    # reception runs on its own thread: a control plane busy with other calls (here the
    # event loop blocked outright) neither delays nor loses a caller's audio
    frames: list[bytes] = []
    receiver = RtpReceiver.open(ports, frames.append)
    for s in range(50):
        sender.sendto(packet(s), (HOST, receiver.port))
    deadline = time.monotonic() + 2
    while len(frames) < 50 and time.monotonic() < deadline:  # the loop never runs meanwhile
        time.sleep(0.01)  # noqa: ASYNC251 (blocking on purpose: the event loop is busy)
    assert same([np.frombuffer(f, np.int16) for f in frames], list(range(50)))
    receiver.close()
