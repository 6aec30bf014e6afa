# The control plane probes each SIP edge with OPTIONS (here: small UDP responders on
# loopback addresses of their own) and, when one stops answering, sends each new leg it
# originates through a live one at once: a phone at the explicit URI of that edge, an
# operator's number by the trunk's endpoint for that edge. An edge that answers only
# garbage (no SIP response carrying the probe's Call-ID) counts as not answering.
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ivr.adapters.ari.node_watch import NodeWatch
from ivr.adapters.ari.nodes import NodeRouter
from ivr.adapters.sip_edges import EdgeWatch, call_id_of, withdraw_ringing
from ivr.asterisk_links import asterisk_links
from ivr.config.loader import load
from ivr.settings import Settings
from tests.unit.fake_asterisk import FakeAsterisk

CENTRE = load(
    Path(__file__).resolve().parents[2] / "queue" / "kendari.yaml"
)  # phones taker01.., trunk carrier
HOSTS = ("127.0.0.201", "127.0.0.202")


@contextlib.asynccontextmanager
async def probing(watch: EdgeWatch) -> AsyncIterator[asyncio.Task[None]]:
    """The watch probing its edges for the body's time (its task, to look at)."""
    task = asyncio.create_task(watch.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class Responder(asyncio.DatagramProtocol):
    """A SIP edge as far as OPTIONS go: answers 200 (or `reply`), garbage, or nothing."""

    def __init__(self, mode: str = "sip", status: str = "200 OK") -> None:
        self.mode, self.status = mode, status
        self.heard: list[bytes] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.heard.append(data)
        assert self.transport is not None
        if self.mode == "garbage":
            self.transport.sendto(b"\x00\xffnot SIP at all\r\nCall-ID: x\r\n\r\n", addr)
            return
        if self.mode == "other-call":
            self.transport.sendto(b"SIP/2.0 200 OK\r\nCall-ID: someone-else\r\n\r\n", addr)
            return
        names = ("Via", "From", "To", "Call-ID", "CSeq")
        kept = [line for line in data.decode().split("\r\n") if line.partition(":")[0] in names]
        text = "\r\n".join([f"SIP/2.0 {self.status}", *kept, "Content-Length: 0", "", ""])
        self.transport.sendto(text.encode(), addr)

    def close(self) -> None:
        assert self.transport is not None
        self.transport.close()


async def responder(host: str, port: int = 0, **kwargs: Any) -> tuple[Responder, str]:
    transport, protocol = await asyncio.get_running_loop().create_datagram_endpoint(
        lambda: Responder(**kwargs), local_addr=(host, port)
    )
    return protocol, "{}:{}".format(*transport.get_extra_info("sockname")[:2])


async def until(condition: Callable[[], bool], within: float) -> float:
    """Seconds until `condition` held; fails after `within`."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while not condition():
        assert loop.time() - started < within, f"not within {within} s"
        await asyncio.sleep(0.02)
    return loop.time() - started


def test_a_dead_edge_is_left_at_once_and_taken_back_when_it_answers(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="ivr.adapters.sip_edges")

    async def scenario() -> None:
        (one, edge1), (two, edge2) = await responder(HOSTS[0]), await responder(HOSTS[1])
        watch = EdgeWatch([edge1, edge2])
        async with probing(watch):
            await until(lambda: len(one.heard) >= 2 and len(two.heard) >= 2, within=1.5)
            assert watch.live() == [True, True] and watch.status() == {edge1: True, edge2: True}
            assert watch.dial("PJSIP/taker01", CENTRE) == f"PJSIP/taker01/sip:taker01@{edge1}"
            assert watch.dial("PJSIP/0811@carrier", CENTRE) == "PJSIP/0811@carrier"

            one.close()  # edge 1 dies
            # at worst 0.85 s: the probe after the last answer and the next both missed (0.3 + 0.3 + 0.25)
            took = await until(lambda: not watch.live()[0], within=2.0)
            assert took < 1.2 and watch.live() == [False, True]
            assert watch.dial("PJSIP/taker01", CENTRE) == f"PJSIP/taker01/sip:taker01@{edge2}"
            assert watch.dial("PJSIP/0811@carrier", CENTRE) == "PJSIP/0811@carrier-edge2"
            assert (
                watch.dial("PJSIP/damkar", CENTRE) == f"PJSIP/damkar/sip:damkar@{edge2}"
            )  # an agency's phone
            assert watch.dial("PJSIP/nobody", CENTRE) == "PJSIP/nobody"

            host, _, port = edge1.rpartition(":")
            one, _ = await responder(host, int(port))  # edge 1 is back
            await until(lambda: watch.live() == [True, True], within=1.0)
            assert watch.dial("PJSIP/0811@carrier", CENTRE) == "PJSIP/0811@carrier"
            one.close()
            two.close()
        assert watch._sockets == [None, None]  # closed with the watch
        said = [(r.levelname, r.getMessage()) for r in caplog.records]
        assert ("WARNING", f"SIP edge {edge1} does not answer: new legs go through {edge2}") in said
        assert ("INFO", f"SIP edge {edge1} answers again: new legs go through {edge1}") in said
        refused = [m for level, m in said if "probe failed" in m]
        assert len(refused) <= 1  # a refusal (ICMP) repeated is logged once, a silence not at all

    asyncio.run(scenario())


def test_the_probe_is_a_well_formed_options_and_any_sip_answer_counts() -> None:
    async def scenario() -> None:
        (busy, edge1), (_, edge2) = (
            await responder(HOSTS[0], status="403 Forbidden"),
            await responder(HOSTS[1]),
        )
        watch = EdgeWatch([edge1, edge2], every=0.1, answer_within=0.08)
        async with probing(watch):
            await until(lambda: len(busy.heard) >= 4, within=1.0)
            assert watch.live() == [True, True]  # a 403 is the edge answering
        probe = busy.heard[0].decode()
        head, _, body = probe.partition("\r\n\r\n")
        lines = head.split("\r\n")
        assert lines[0] == f"OPTIONS sip:{edge1} SIP/2.0" and body == ""
        headers = {line.partition(":")[0]: line.partition(":")[2].strip() for line in lines[1:]}
        assert headers["Via"].startswith("SIP/2.0/UDP 127.0.0.") and ";branch=z9hG4bK" in headers["Via"]
        assert headers["To"] == f"<sip:{edge1}>" and ";tag=" in headers["From"]
        assert headers["CSeq"].endswith(" OPTIONS") and headers["Max-Forwards"] == "70"
        assert headers["Content-Length"] == "0" and headers["Call-ID"]
        assert len({call_id_of(b"SIP/2.0 200 OK\r\n" + p.split(b"\r\n", 1)[1]) for p in busy.heard}) == len(
            busy.heard
        )  # a Call-ID per probe

    asyncio.run(scenario())


@pytest.mark.parametrize("mode", ["garbage", "other-call"])
def test_an_edge_answering_no_sip_response_to_the_probe_is_down(mode: str) -> None:
    async def scenario() -> None:
        (odd, edge1), (_, edge2) = await responder(HOSTS[0], mode=mode), await responder(HOSTS[1])
        watch = EdgeWatch([edge1, edge2], every=0.1, answer_within=0.08)
        async with probing(watch):
            await until(lambda: watch.live() == [False, True], within=1.0)
            assert odd.heard  # it was asked, and what it said did not count
            assert watch.dial("PJSIP/taker02", CENTRE) == f"PJSIP/taker02/sip:taker02@{edge2}"

    asyncio.run(scenario())


def test_with_no_edge_answering_every_leg_goes_as_asterisk_routes_it() -> None:
    async def scenario() -> None:
        (one, edge1), (two, edge2) = await responder(HOSTS[0]), await responder(HOSTS[1])
        one.close()
        two.close()
        watch = EdgeWatch([edge1, edge2], every=0.1, answer_within=0.08)
        async with probing(watch) as task:
            await until(lambda: watch.live() == [False, False], within=1.0)
            await asyncio.sleep(0.2)  # refusals go on: the loop does not fail on them
            assert not task.done()
            assert watch.dial("PJSIP/taker01", CENTRE) == "PJSIP/taker01"
            assert watch.dial("PJSIP/0811@carrier", CENTRE) == "PJSIP/0811@carrier"

    asyncio.run(scenario())


def test_call_ids_are_read_from_sip_responses_only() -> None:
    assert call_id_of(b"SIP/2.0 200 OK\r\nVia: x\r\nCall-ID:  abc@h \r\n\r\n") == "abc@h"
    assert call_id_of(b"SIP/2.0 404 Not Found\r\ni: short@h\r\n\r\n") == "short@h"  # compact form
    assert call_id_of(b"OPTIONS sip:x SIP/2.0\r\nCall-ID: abc@h\r\n\r\n") is None  # a request
    assert call_id_of(b"\x00\xff garbage") is None
    assert call_id_of(b"SIP/2.0 200 OK\r\n\r\nCall-ID: in-the-body\r\n") is None


def test_node_routers_originate_through_the_dial_they_are_given() -> None:
    async def scenario() -> None:
        a1, a2 = FakeAsterisk(), FakeAsterisk()
        router = NodeRouter({"a1": a1, "a2": a2}, dial=lambda endpoint, leg: f"{endpoint}/sip:via-edge-{leg}")
        await router.originate(endpoint="PJSIP/taker01", channel_id="a2-200.1-t1", app_args="taker",
                               caller_number="0822", ring_seconds=15, originator="a2-200.1")  # fmt: skip
        assert [r[:3] for r in a2.requests if r[0] == "originate"] == [
            ("originate", "PJSIP/taker01/sip:via-edge-a2-200.1-t1", "a2-200.1-t1")
        ]
        plain = NodeRouter({"a1": a1})  # no dial: as given
        await plain.originate(endpoint="PJSIP/taker02", channel_id="a1-100.1-t1", app_args="taker",
                              caller_number="0811", ring_seconds=15, originator="a1-100.1")  # fmt: skip
        assert ("originate", "PJSIP/taker02", "a1-100.1-t1") in [r[:3] for r in a1.requests]

    asyncio.run(scenario())


def test_the_edges_are_probed_only_while_the_nodes_are_watched() -> None:
    class Quiet:
        """A node's events stream that stays up and says nothing."""

        connected, down = asyncio.Event(), asyncio.Event()

        async def run(self, on_event: Any, on_connected: Any) -> None:
            await asyncio.Event().wait()

    class Edges:
        def __init__(self) -> None:
            self.probing = False

        async def run(self) -> None:
            self.probing = True
            try:
                await asyncio.Event().wait()
            finally:
                self.probing = False

    async def scenario() -> None:
        edges = Edges()
        router = NodeRouter({"a1": FakeAsterisk()})
        watch = NodeWatch(router, {"a1": Quiet()}, lost_after=1.0, edges=edges)  # type: ignore[dict-item, arg-type]

        async def nothing(*args: Any) -> None:
            pass

        task = asyncio.create_task(watch.run(nothing, nothing, lambda *args: None))
        await until(lambda: edges.probing, within=1.0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        assert not edges.probing

    asyncio.run(scenario())


def settings(**values: Any) -> Settings:
    return Settings(development=True, ari_password="x" * 20, api_token="y" * 32, **values)


def test_the_cluster_with_two_edges_probes_them_and_both_routers_dial_through_them() -> None:
    nodes = "a1=http://127.0.0.51:8088,a2=http://127.0.0.52:8088"
    edges = "127.0.0.50:5060, 127.0.0.60:5060"

    async def links(**values: str) -> tuple[Any, Any, Any]:
        async with aiohttp.ClientSession() as session:
            return asterisk_links(settings(**values), session, session, lambda: CENTRE)

    rest, dispatch, watch = asyncio.run(links(ari_nodes=nodes, sip_edge=edges))
    assert isinstance(watch.edges, EdgeWatch) and watch.edges.edges == ["127.0.0.50:5060", "127.0.0.60:5060"]
    watch.edges._live = [False, True]
    assert rest.dial("PJSIP/taker01", "a1-1.1-t1") == "PJSIP/taker01/sip:taker01@127.0.0.60:5060"
    assert dispatch.dial("PJSIP/0811@carrier", "a1-1.2-out") == "PJSIP/0811@carrier-edge2"
    assert watch.edges.withdraw is not None  # legs through an edge that dies are withdrawn
    for values in ({"ari_nodes": nodes, "sip_edge": "127.0.0.50:5060"}, {"ari_nodes": nodes}):
        rest, _, watch = asyncio.run(links(**values))
        assert watch.edges is None and rest.dial is None  # one edge: Asterisk routes


def test_settings_read_the_edges_and_name_a_bad_one() -> None:
    assert settings(sip_edge="127.0.0.50:5060,127.0.0.60:5061").sip_edges == [
        "127.0.0.50:5060",
        "127.0.0.60:5061",
    ]
    assert settings().sip_edges == []
    with pytest.raises(ValueError, match=r"sip_edge[\s\S]*SIP edge 2 \('edge-b:5060'\)"):
        settings(sip_edge="127.0.0.50:5060,edge-b:5060")


def test_legs_still_ringing_through_an_edge_that_dies_are_withdrawn_answered_ones_kept() -> None:
    """A call taker's phone rung through edge 1 as it dies would ring into nothing until the
    ring time is over (and count as the taker's miss): it is hung up as soon as the edge is
    found down, so the caller goes to the next taker at once. A leg already answered keeps
    its media (which never passes the edge); a leg through edge 2 is not touched."""

    async def scenario() -> None:
        (one, edge1), (_two, edge2) = await responder(HOSTS[0]), await responder(HOSTS[1])
        watch = EdgeWatch([edge1, edge2])
        withdrawn: list[list[str]] = []

        async def withdraw(legs: list[str]) -> None:
            withdrawn.append(sorted(legs))

        watch.withdraw = withdraw
        async with probing(watch):
            await until(lambda: watch.live() == [True, True], within=1.5)
            watch.dial("PJSIP/taker01", CENTRE, "a1-1.1-t1")  # through edge 1
            watch.dial("PJSIP/0811@carrier", CENTRE, "a1-1.2-out")  # edge 1: the trunk's own endpoint
            watch.dial("PJSIP/taker02", CENTRE, "")  # no id: nothing to remember
            one.close()
            await until(lambda: not watch.live()[0], within=2.0)
            watch.dial("PJSIP/taker03", CENTRE, "a1-1.3-t1")  # through edge 2 now
            await until(lambda: bool(withdrawn), within=1.0)
            assert withdrawn == [["a1-1.1-t1", "a1-1.2-out"]]
            assert edge2 in watch.dial("PJSIP/taker03", CENTRE, "a1-1.3-t1")

    asyncio.run(scenario())


def test_withdraw_ringing_hangs_up_only_legs_not_answered() -> None:
    async def scenario() -> None:
        fake = FakeAsterisk(quiet=True)
        for channel, state in (("a1-1.1-t1", "Ring"), ("a1-1.2-t1", "Up"), ("a1-1.3-out", "Ringing")):
            fake._channel(f"PJSIP/x-{channel}", "0811", channel, state)
        await withdraw_ringing(fake, ["a1-1.1-t1", "a1-1.2-t1", "a1-1.3-out", "a1-gone-t1"])
        hung = sorted(r[1] for r in fake.requests if r[0] == "hangup")
        assert hung == ["a1-1.1-t1", "a1-1.3-out"]

    asyncio.run(scenario())
