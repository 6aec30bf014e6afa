"""What each way of getting a caller's audio out of Asterisk costs Asterisk, per stream.

Real Asterisk (the project's, no control plane), N source channels that receive 20 ms
of audio every 20 ms (externalMedia channels fed RTP by a sender process, standing in
for callers), and for each source one screening leg of the kind measured:
  none         the sources alone (the baseline the legs' cost is taken from)
  snoop        the snoop channel alone (spy in), no bridge, no transport: what any
               snoop-based leg costs at least
  snoop-audiosocket  the snoop channel sent to the AudioSocket dialplan application
               (slin over TCP; a context this benchmark adds): no bridge, no second channel
  rtp          snoop (spy in) + bridge + externalMedia chan_rtp, slin over UDP (shipped)
  audiosocket  snoop (spy in) + bridge + externalMedia AudioSocket, slin over TCP
  websocket    snoop (spy in) + bridge + externalMedia chan_websocket, slin over a
               websocket this process opens to Asterisk's HTTP server
Asterisk's CPU (user + system, from /proc) over the same window for each, the kinds in
turn for several rounds (a shared machine's noise hits them all); the figure is the legs'
CPU per stream-second over the same round's baseline (median over the rounds), and each
transport's ratio to rtp.
Prints figures; asserts nothing.

    python -m benchmarks.screening_transport [--streams 40] [--seconds 15] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import socket
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.load_measure import asterisk_pid, cpu_seconds
from ivr.adapters.ari.rest import AriRest
from tests.integration.stack import start_stack, stop_stack

ARI = "http://127.0.0.1:8088"
APP = "transport-bench"
AUDIOSOCKET_CONTEXT = "bench-screen-audio"  # the extension (a UUID) names the stream
AUDIOSOCKET_EXTENSION = "_[0-9a-f].,1,AudioSocket(${EXTEN},${BENCH_SCREEN_AUDIO})"
KINDS = ("none", "snoop", "snoop-audiosocket", "rtp", "audiosocket", "websocket")
SENDER = """
import socket, struct, sys, time
ports = [int(p) for p in sys.argv[1].split(",")]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
payload = bytes(range(256)) + bytes(64)  # 320 bytes: 20 ms of slin
seq, start = 0, time.monotonic()
while True:
    for i, port in enumerate(ports):
        header = struct.pack("!BBHII", 0x80, 118, seq & 0xFFFF, seq * 160 & 0xFFFFFFFF, 7000 + i)
        s.sendto(header + payload, ("127.0.0.1", port))
    seq += 1
    time.sleep(max(0.0, start + seq * 0.02 - time.monotonic()))
"""


def asterisk_cpu(pid: int) -> float:
    return cpu_seconds([pid])


class Sinks:
    """Where the legs send: a UDP port and a TCP server (AudioSocket) drained on the event
    loop; bytes counted per transport, to show the audio flowed."""

    def __init__(self) -> None:
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.udp.setblocking(False)
        self.bytes = {"rtp": 0, "audiosocket": 0, "websocket": 0}  # AudioSocket: both kinds
        self.tcp: asyncio.Server | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_reader(self.udp.fileno(), self._drain_udp)
        self.tcp = await asyncio.start_server(self._audiosocket, "127.0.0.1", 0)

    def _drain_udp(self) -> None:
        while True:
            try:
                self.bytes["rtp"] += len(self.udp.recv(2048))
            except BlockingIOError:
                return

    async def _audiosocket(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while chunk := await reader.read(65536):
            self.bytes["audiosocket"] += len(chunk)
        writer.close()

    @property
    def udp_port(self) -> int:
        return int(self.udp.getsockname()[1])

    @property
    def tcp_port(self) -> int:
        assert self.tcp is not None
        return int(self.tcp.sockets[0].getsockname()[1])


async def external(ari: AriRest, params: dict[str, str]) -> dict[str, Any]:
    return dict(await ari._call("POST", "/channels/externalMedia", "external media", {"app": APP, **params}))


async def leg(
    ari: AriRest, http: aiohttp.ClientSession, kind: str, source: str, sinks: Sinks, n: int
) -> list[Any]:
    """One screening leg on `source`; returns what to close afterwards (channel ids, websockets)."""
    snoop = f"bench-snoop-{n}"
    await ari.snoop(source, snoop, "bench")
    if kind == "snoop":
        return [snoop]
    if kind == "snoop-audiosocket":
        await asyncio.sleep(0.05)  # the snoop enters the app
        params = {"context": AUDIOSOCKET_CONTEXT, "extension": str(uuid.uuid4()), "priority": "1"}
        await ari._call("POST", f"/channels/{snoop}/continue", "continue", params)
        return [snoop]
    bridge = f"bench-bridge-{n}"
    await ari.create_bridge(bridge, bridge)
    media = f"bench-media-{n}"
    held: list[Any] = [snoop, media, ("bridge", bridge)]
    if kind == "rtp":
        await external(ari, {"channelId": media, "external_host": f"127.0.0.1:{sinks.udp_port}",
                             "encapsulation": "rtp", "transport": "udp", "format": "slin"})  # fmt: skip
    elif kind == "audiosocket":
        await external(ari, {"channelId": media, "external_host": f"127.0.0.1:{sinks.tcp_port}",
                             "encapsulation": "audiosocket", "transport": "tcp", "format": "slin",
                             "data": str(uuid.uuid4())})  # fmt: skip
    else:
        params = {"channelId": media, "external_host": "INCOMING", "connection_type": "server"}
        channel = await external(
            ari, {**params, "transport": "websocket", "encapsulation": "none", "format": "slin"}
        )
        connection = channel.get("channelvars", {}).get("MEDIA_WEBSOCKET_CONNECTION_ID", media)
        ws = await http.ws_connect(f"{ARI.replace('http', 'ws')}/media/{connection}", protocols=["media"])
        held.append(ws)
        asyncio.get_running_loop().create_task(drain_ws(ws, sinks))
    await asyncio.sleep(0.05)  # the channels enter the app
    await ari.add_channels(bridge, [snoop, media])
    return held


async def drain_ws(ws: aiohttp.ClientWebSocketResponse, sinks: Sinks) -> None:
    async for message in ws:
        if message.type == aiohttp.WSMsgType.BINARY:
            sinks.bytes["websocket"] += len(message.data)


async def events(http: aiohttp.ClientSession) -> aiohttp.ClientWebSocketResponse:
    return await http.ws_connect(f"{ARI.replace('http', 'ws')}/ari/events?app={APP}")


async def measure(kind: str, streams: int, seconds: float, password: str, pid: int) -> tuple[float, int]:
    token = base64.b64encode(f"ivr112:{password}".encode()).decode()
    limit = aiohttp.ClientTimeout(total=10)  # a request Asterisk does not answer fails this kind
    async with aiohttp.ClientSession(headers={"Authorization": f"Basic {token}"}, timeout=limit) as http:
        app_events = await events(http)
        ari = AriRest(http, ARI, APP)
        sinks = Sinks()
        await sinks.start()
        target = f"127.0.0.1:{sinks.tcp_port}"
        await ari._call(
            "POST", "/asterisk/variable", "set global", {"variable": "BENCH_SCREEN_AUDIO", "value": target}
        )
        sources: list[str] = []
        local_ports: list[int] = []
        for i in range(streams):
            params = {"channelId": f"bench-source-{i}", "external_host": f"127.0.0.1:{sinks.udp_port}"}
            channel = await external(
                ari, {**params, "encapsulation": "rtp", "transport": "udp", "format": "slin"}
            )
            sources.append(channel["id"])
            local_ports.append(int(channel["channelvars"]["UNICASTRTP_LOCAL_PORT"]))
        sender = await asyncio.create_subprocess_exec(
            sys.executable, "-c", SENDER, ",".join(map(str, local_ports))
        )
        held: list[Any] = []
        try:
            for i, source in enumerate(sources):
                if kind != "none":
                    held.extend(await leg(ari, http, kind, source, sinks, i))
            await asyncio.sleep(2)  # settled
            before, flowed, started = asterisk_cpu(pid), dict(sinks.bytes), time.monotonic()
            await asyncio.sleep(seconds)
            cpu = asterisk_cpu(pid) - before
            elapsed = time.monotonic() - started
            moved = sum(sinks.bytes.values()) - sum(flowed.values())
        finally:
            sender.terminate()
            await sender.wait()
            for item in held:
                with contextlib.suppress(
                    Exception
                ):  # already gone, or Asterisk stuck: the stack stops anyway
                    if isinstance(item, tuple):
                        await ari._call("DELETE", f"/bridges/{item[1]}", "destroy bridge")
                    elif isinstance(item, str):
                        await ari._call("DELETE", f"/channels/{item}", "hang up")
                    else:
                        await item.close()
            for source in sources:
                with contextlib.suppress(Exception):
                    await ari._call("DELETE", f"/channels/{source}", "hang up")
            await app_events.close()
        return cpu / elapsed, moved


async def run(streams: int, seconds: float, kinds: list[str], rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        stack = start_stack(Path(tmp))
        try:
            stack.cli(f"dialplan add extension {AUDIOSOCKET_EXTENSION} into {AUDIOSOCKET_CONTEXT}")
            pid = asterisk_pid()
            results: dict[str, list[float]] = {}
            print(f"{streams} streams, {seconds:g} s each, {rounds} rounds, {os.cpu_count()} CPUs")
            for round_ in range(1, rounds + 1):  # the kinds in turn, so a noisy minute hits them all
                for kind in kinds:
                    try:
                        busy, moved = await asyncio.wait_for(
                            measure(kind, streams, seconds, stack.ari_password, pid), seconds + 120
                        )
                    except Exception as exc:  # a transport this Asterisk refuses: said, the others go on
                        print(f"round {round_} {kind:>12}: not measured ({exc!r})")
                        continue
                    results.setdefault(kind, []).append(busy)
                    rate = moved / seconds / 1000
                    print(
                        f"round {round_} {kind:>12}: Asterisk {1000 * busy:6.1f} ms CPU/s, {rate:4.0f} kB/s"
                    )
            report(results, streams)
        finally:
            stop_stack(stack)


def report(results: dict[str, list[float]], streams: int) -> None:
    """Each leg's cost per stream-second over the sources alone, round by round (the
    baseline of the same round), as the median over the rounds and as a ratio to rtp."""
    base = results.get("none", [])
    if not base:
        return
    cost = {
        kind: statistics.median((b - n) / streams for b, n in zip(busy, base, strict=False))
        for kind, busy in results.items()
        if kind != "none"
    }
    print("a screening leg's cost to Asterisk per stream-second, over the sources alone (median):")
    rtp = cost.get("rtp")
    for kind, value in cost.items():
        ratio = f"  {value / rtp:.2f}x rtp" if rtp else ""
        print(f"{kind:>12}: {1000 * value:6.2f} ms{ratio}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(run(args.streams, args.seconds, args.kinds.split(","), args.rounds))


if __name__ == "__main__":
    main()
