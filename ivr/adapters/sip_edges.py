"""The SIP edges as the control plane sees them: which are alive, hence which one a new leg
it originates goes through (ivr.core.edge_dial).

Rules:
- Each edge gets a SIP OPTIONS (`OPTIONS sip:<edge>`) over UDP every 0.3 s, from a socket
  of our own on an ephemeral port. A reply is a datagram that starts "SIP/2.0 " and carries
  the probe's Call-ID, whatever its status: the edge's Kamailio read the probe and answered.
  Anything else (garbage, another probe's Call-ID, a request) is ignored, so an edge that
  only ever sends garbage is down.
- An edge is down after 2 probes in a row without a reply within 0.25 s (at worst 0.85 s
  after its death), and up again at its first reply; every edge starts live. A network
  error (a send refused, no route) is a probe without a reply, logged once per change;
  run() never fails on one.
- dial() is edge_dial.via_edge over the edges' flags now, the centre's registering phones
  (ivr.config.sip_edge.subscribers, read at each call; a configuration whose phones cannot
  be listed gives none) and its trunks; it remembers which edge each leg went through
  (the latest PLACED_KEPT legs).
- When an edge goes down, the legs placed through it that still ring are withdrawn (hung
  up, `withdraw_ringing`): within about a second of the death, so the caller goes on to the
  next call taker at once and the ACD counts a quick failure, not the taker's miss. A leg
  already answered is left alone: its media does not pass the edge.
- Probing runs inside NodeWatch: only while this control plane leads and watches nodes.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
import socket
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from ivr.adapters.ari.port import Ari, AriError, AriUnavailable
from ivr.config.schema import CentreConfig
from ivr.config.sip_edge import subscribers
from ivr.core.edge_dial import via_edge

log = logging.getLogger(__name__)

EVERY_SECONDS = 0.3  # between two probes of an edge
ANSWER_SECONDS = 0.25  # a probe not answered within this is missed
MISSES = 2  # probes missed in a row: the edge is down
CALL_ID_HEADERS = ("call-id", "i")  # "i" is Call-ID's compact form
PLACED_KEPT = 2000  # legs remembered with the edge they went through (oldest forgotten)
Withdraw = Callable[[list[str]], Coroutine[Any, Any, None]]  # channel ids of legs placed through a dead edge


def call_id_of(data: bytes) -> str | None:
    """The Call-ID of a SIP response, or None when `data` is no SIP response."""
    if not data.startswith(b"SIP/2.0 "):
        return None
    head = data.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    for line in head.splitlines()[1:]:
        name, colon, value = line.partition(":")
        if colon and name.strip().lower() in CALL_ID_HEADERS:
            return value.strip()
    return None


class _Socket(asyncio.DatagramProtocol):
    def __init__(self, reply: Callable[[bytes], None], failed: Callable[[OSError], None]) -> None:
        self.reply, self.failed = reply, failed

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.reply(data)

    def error_received(self, exc: Exception) -> None:  # a refusal (ICMP) or a failed send
        if isinstance(exc, OSError):
            self.failed(exc)


class EdgeWatch:
    """The edges ("a.b.c.d:port", edge 1 first), probed while run() runs."""

    def __init__(
        self,
        edges: Sequence[str],
        every: float = EVERY_SECONDS,
        answer_within: float = ANSWER_SECONDS,
        misses: int = MISSES,
    ) -> None:
        self.edges = list(edges)
        self.every, self.answer_within, self.misses = every, answer_within, misses
        self._live = [True] * len(self.edges)
        self._missed = [0] * len(self.edges)
        self._errors: list[str | None] = [None] * len(self.edges)  # the last one logged
        self._sockets: list[asyncio.DatagramTransport | None] = [None] * len(self.edges)
        self._waiting: dict[str, asyncio.Future[None]] = {}  # a probe's Call-ID -> its reply
        self._cseq = itertools.count(1)
        self._config_problem: str | None = None
        self._placed: OrderedDict[str, int] = OrderedDict()  # channel id -> the edge it went through
        self.withdraw: Withdraw | None = None  # set once the ARI side exists
        self._withdrawing: set[asyncio.Task[None]] = set()

    def live(self) -> list[bool]:
        return list(self._live)

    def status(self) -> dict[str, bool]:
        """Each edge's address: live or not."""
        return dict(zip(self.edges, self._live, strict=True))

    def dial(self, endpoint: str, config: CentreConfig, channel_id: str = "") -> str:
        """`endpoint` as the leg is to be dialled: through the first live edge."""
        try:
            phones = set(subscribers(config))
        except Exception as exc:  # a configuration refused elsewhere: dial no phone by URI
            if str(exc) != self._config_problem:
                log.warning(
                    "SIP edges: the centre's phones cannot be listed (%s): phones dialled as given", exc
                )
                self._config_problem = str(exc)
            phones = set()
        trunks = {t.id for t in config.trunks}
        dialled, through = via_edge(endpoint, self.edges, self._live, phones, trunks)
        if channel_id and through is not None:
            self._placed[channel_id] = through
            while len(self._placed) > PLACED_KEPT:
                self._placed.popitem(last=False)
        return dialled

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                started = loop.time()
                answered = await asyncio.gather(*(self._probe(index) for index in range(len(self.edges))))
                self._note(answered)
                await asyncio.sleep(max(0.0, self.every - (loop.time() - started)))
        finally:
            for index, transport in enumerate(self._sockets):
                if transport is not None:
                    transport.close()
                self._sockets[index] = None

    async def _probe(self, index: int) -> bool:
        """One OPTIONS to edge `index`: whether it was answered in time."""
        call_id = f"{secrets.token_hex(12)}@ivr112-edge-watch"
        reply = asyncio.get_running_loop().create_future()
        self._waiting[call_id] = reply
        try:
            transport = await self._socket(index)
            transport.sendto(self._options(index, transport, call_id))
            await asyncio.wait_for(reply, self.answer_within)
        except TimeoutError:  # before OSError, of which it is one
            return False
        except OSError as exc:
            self._failed(index, exc)
            return False
        finally:
            self._waiting.pop(call_id, None)
        return True

    async def _socket(self, index: int) -> asyncio.DatagramTransport:
        transport = self._sockets[index]
        if transport is None or transport.is_closing():
            host, _, port = self.edges[index].rpartition(":")
            transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
                lambda: _Socket(self._reply, lambda exc: self._failed(index, exc)),
                remote_addr=(host, int(port)),
                family=socket.AF_INET,
            )
            self._sockets[index] = transport
        return transport

    def _options(self, index: int, transport: asyncio.DatagramTransport, call_id: str) -> bytes:
        here_host, here_port = transport.get_extra_info("sockname")[:2]
        here, edge = f"{here_host}:{here_port}", self.edges[index]
        return (
            f"OPTIONS sip:{edge} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {here};branch=z9hG4bK{secrets.token_hex(10)};rport\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:ivr112@{here}>;tag={secrets.token_hex(6)}\r\n"
            f"To: <sip:{edge}>\r\n"
            f"Call-ID: {call_id}\r\n"
            f"CSeq: {next(self._cseq)} OPTIONS\r\n"
            "User-Agent: ivr112-control-plane\r\n"
            "Content-Length: 0\r\n\r\n"
        ).encode()

    def _reply(self, data: bytes) -> None:
        call_id = call_id_of(data)
        reply = self._waiting.get(call_id) if call_id else None
        if reply is not None and not reply.done():
            reply.set_result(None)

    def _failed(self, index: int, exc: OSError) -> None:
        problem = f"{type(exc).__name__}: {exc}"
        if problem != self._errors[index]:
            log.warning("SIP edge %s: OPTIONS probe failed: %s", self.edges[index], problem)
            self._errors[index] = problem

    def _note(self, answered: Sequence[bool]) -> None:
        went_down, came_up = [], []
        for index, yes in enumerate(answered):
            if yes:
                self._missed[index], self._errors[index] = 0, None
                if not self._live[index]:
                    self._live[index] = True
                    came_up.append(self.edges[index])
                continue
            self._missed[index] += 1
            if self._live[index] and self._missed[index] >= self.misses:
                self._live[index] = False
                went_down.append(self.edges[index])
        through = next((e for e, up in zip(self.edges, self._live, strict=True) if up), None)
        now = (
            f"new legs go through {through}"
            if through
            else "no edge answers: new legs go as Asterisk sends them"
        )
        for edge in went_down:
            log.warning("SIP edge %s does not answer: %s", edge, now)
            self._withdraw(self.edges.index(edge))
        for edge in came_up:
            log.info("SIP edge %s answers again: %s", edge, now)

    def _withdraw(self, index: int) -> None:
        legs = [channel for channel, through in self._placed.items() if through == index]
        for channel in legs:
            del self._placed[channel]
        if legs and self.withdraw is not None:
            task = asyncio.get_running_loop().create_task(self.withdraw(legs))
            self._withdrawing.add(task)
            task.add_done_callback(self._withdrawing.discard)


async def withdraw_ringing(ari: Ari, channel_ids: list[str]) -> None:
    """Of these legs (placed through an edge that died), those not answered yet are hung up;
    answered ones keep going. Errors are logged, never raised."""
    wanted = set(channel_ids)
    try:
        ringing = [c.id for c in await ari.channels() if c.id in wanted and c.state != "Up"]
    except (AriError, AriUnavailable) as exc:
        log.warning("legs through a dead SIP edge not withdrawn (channels not listed): %s", exc)
        return
    for channel in ringing:
        try:
            await ari.hangup(channel, "congestion")
        except (AriError, AriUnavailable) as exc:
            log.info("leg %s through a dead SIP edge not withdrawn: %s", channel, exc)
    if ringing:
        log.warning("%d legs ringing through a dead SIP edge withdrawn: %s", len(ringing), ", ".join(ringing))
