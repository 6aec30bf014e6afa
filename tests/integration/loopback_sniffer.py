"""What crosses the loopback interface, seen as the wire sees it (a packet socket on `lo`,
root only): the tests' witness of SIP and RTP timing that no party reports itself, such as
when a carrier's INVITE left and which audio a caller was sent.

Only IPv4 UDP is kept; each packet once (the copy delivered, not the one sent)."""

from __future__ import annotations

import socket
import struct
import threading
import time
from dataclasses import dataclass

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


@dataclass(frozen=True)
class Datagram:
    at: float  # epoch seconds, when it was seen
    src: tuple[str, int]
    dst: tuple[str, int]
    payload: bytes


class LoopbackSniffer:
    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self._socket.bind(("lo", 0))
        self._socket.settimeout(0.2)
        self.seen: list[Datagram] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sniffer", daemon=True)

    def __enter__(self) -> LoopbackSniffer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._socket.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                frame, address = self._socket.recvfrom(65535)
            except TimeoutError:
                continue
            if address[2] == PACKET_OUTGOING:
                continue
            datagram = _udp(frame[14:], time.time())  # after the (dummy) Ethernet header
            if datagram is not None:
                self.seen.append(datagram)

    def to(self, host: str, port: int | None = None) -> list[Datagram]:
        return [d for d in list(self.seen) if d.dst[0] == host and (port is None or d.dst[1] == port)]


def _udp(packet: bytes, at: float) -> Datagram | None:
    if len(packet) < 28 or packet[0] >> 4 != 4 or packet[9] != socket.IPPROTO_UDP:
        return None
    header = (packet[0] & 0x0F) * 4
    sport, dport, length = struct.unpack("!HHH", packet[header : header + 6])
    src, dst = socket.inet_ntoa(packet[12:16]), socket.inet_ntoa(packet[16:20])
    return Datagram(at, (src, sport), (dst, dport), packet[header + 8 : header + length])


def rtp_payload(datagram: Datagram, payload_type: int = 8) -> bytes | None:
    """The audio of an RTP packet of that payload type (8: G.711 A-law), or None (RTCP
    shares the version bits, not the type: its second byte is 200-204)."""
    data = datagram.payload
    if len(data) < 12 or data[0] >> 6 != 2 or data[1] & 0x7F != payload_type:
        return None
    start = 12 + 4 * (data[0] & 0x0F)
    if data[0] & 0x10:  # an extension header
        if len(data) < start + 4:
            return None
        start += 4 + 4 * struct.unpack("!H", data[start + 2 : start + 4])[0]
    return data[start:]
