"""Requests about a channel name it by its name, which Asterisk finds in a hash table,
not by its id, which Asterisk finds by walking every channel under the global channel
lock (slowing every arriving call's answer). Names come from the events Asterisk really
sends (the recorded two calls) and from the replies that made a channel; a destroyed
channel's hang-up is answered 404 without asking; a name Asterisk no longer knows (a
renamed channel) is asked again by id; a reconnected node's names are forgotten."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import cast

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from ivr.adapters.ami import AmiUnavailable, PhoneWatch
from ivr.adapters.ari import models as ari
from ivr.adapters.ari.channel_names import ChannelNames
from ivr.adapters.ari.rest import AriError, AriRest
from ivr.asterisk_links import NodeVariables

FIXTURE = Path(__file__).parent / "fixtures" / "ari_events_two_calls.jsonl"
EVENTS = [ari.parse_event(line) for line in FIXTURE.read_text().splitlines()]
CALLER, TAKER_LEG = "1795846476.6", "1795846476.6-t1"


def events_until(kind: str, channel_id: str) -> list[ari.AnyEvent]:
    for index, event in enumerate(EVENTS):
        channel = getattr(event, "channel", None)
        if event.type == kind and channel is not None and channel.id == channel_id:
            return EVENTS[: index + 1]
    raise AssertionError(f"no {kind} of {channel_id} in the recording")


def test_a_channel_in_the_app_is_addressed_by_the_name_asterisk_gave_it() -> None:
    names = ChannelNames()
    for event in events_until("StasisStart", TAKER_LEG):
        names.seen(event)
    assert names.address(CALLER) == "PJSIP/carrier-00000006"
    assert names.address(TAKER_LEG) == "PJSIP/taker02-00000007"
    assert names.address("1795846999.1") == "1795846999.1"  # never seen: its id
    assert not names.gone(TAKER_LEG)


def test_a_destroyed_channel_is_gone_and_its_name_never_learnt_again() -> None:
    names = ChannelNames()
    for event in EVENTS:
        names.seen(event)
    assert names.gone(TAKER_LEG)
    assert names.address(TAKER_LEG) == TAKER_LEG
    names.learn(ari.Channel(id=TAKER_LEG, name="PJSIP/taker02-00000007", state="Up"))  # a late reply
    assert names.address(TAKER_LEG) == TAKER_LEG


def test_a_reconnected_node_forgets_its_own_channels_only() -> None:
    names = ChannelNames()
    for channel_id, name in (("a1-17.1", "PJSIP/carrier-00000001"), ("a2-17.2", "PJSIP/carrier-00000001")):
        names.learn(ari.Channel(id=channel_id, name=name, state="Up"))
    names.forget(lambda channel_id: channel_id.startswith("a1-"))  # a1's Asterisk may have restarted
    assert names.address("a1-17.1") == "a1-17.1"
    assert names.address("a2-17.2") == "PJSIP/carrier-00000001"
    names.forget()
    assert names.address("a2-17.2") == "a2-17.2"


def test_the_tables_keep_the_newest_only() -> None:
    names = ChannelNames(kept=2)
    for number in range(3):
        names.learn(ari.Channel(id=f"17.{number}", name=f"PJSIP/c-{number}", state="Up"))
    assert [names.address(f"17.{n}") for n in range(3)] == ["17.0", "PJSIP/c-1", "PJSIP/c-2"]


class FakeAsterisk:
    """Answers hang-ups and snoops only for the channel names it holds; ids are 404
    unless listed as live (a renamed channel's)."""

    def __init__(self) -> None:
        self.live = {"PJSIP/carrier-00000006"}
        self.ids: set[str] = set()
        self.asked: list[str] = []

    async def on_channel(self, request: web.Request) -> web.Response:
        target = request.match_info["target"]
        self.asked.append(f"{request.method} {target}")
        if target not in self.live and target not in self.ids:
            return web.json_response({"message": "Channel not found"}, status=404)
        if request.path.endswith("/snoop"):
            return web.json_response({"id": "snoop-1", "name": f"Snoop/{target}-00000001", "state": "Up"})
        return web.Response(status=204)

    async def originate(self, request: web.Request) -> web.Response:
        originator = request.query["originator"]
        self.asked.append(f"originate from {originator}")
        if originator not in self.live and originator not in self.ids:
            return web.json_response({"message": "Provided originator channel was not found"}, status=400)
        return web.json_response(
            {"id": request.query["channelId"], "name": "PJSIP/taker02-00000007", "state": "Down"}
        )


@pytest.fixture
async def asterisk() -> AsyncIterator[tuple[FakeAsterisk, AriRest]]:
    fake = FakeAsterisk()
    app = web.Application()
    app.router.add_route("*", "/ari/channels/{target}", fake.on_channel)
    app.router.add_post("/ari/channels/{target}/snoop", fake.on_channel)
    app.router.add_post("/ari/channels", fake.originate)
    server = TestServer(app)
    await server.start_server()
    async with aiohttp.ClientSession() as session:
        names = ChannelNames()
        for event in events_until("StasisStart", CALLER):
            names.seen(event)
        yield fake, AriRest(session, str(server.make_url("/")), "ivr112", names)
    await server.close()


async def test_a_hang_up_and_a_snoop_name_the_channel(asterisk: tuple[FakeAsterisk, AriRest]) -> None:
    fake, rest = asterisk
    snoop = await rest.snoop(CALLER, "snoop-1", "screen,1795846476.6")
    await rest.hangup(CALLER)
    assert fake.asked == ["POST PJSIP/carrier-00000006", "DELETE PJSIP/carrier-00000006"]
    assert rest.names.address("snoop-1") == snoop.name  # learnt from the reply


async def test_a_name_asterisk_does_not_know_is_asked_again_by_id(
    asterisk: tuple[FakeAsterisk, AriRest],
) -> None:
    fake, rest = asterisk
    fake.live, fake.ids = set(), {CALLER}  # renamed since its StasisStart
    await rest.hangup(CALLER)
    await rest.originate(
        endpoint="PJSIP/taker02", channel_id=TAKER_LEG, app_args="taker", caller_number="0812",
        ring_seconds=15, originator=CALLER,
    )  # fmt: skip
    assert fake.asked == [
        "DELETE PJSIP/carrier-00000006",
        f"DELETE {CALLER}",
        "originate from PJSIP/carrier-00000006",
        f"originate from {CALLER}",
    ]


async def test_a_destroyed_channel_is_not_asked_about(asterisk: tuple[FakeAsterisk, AriRest]) -> None:
    fake, rest = asterisk
    for event in EVENTS:
        rest.names.seen(event)
    with pytest.raises(AriError) as refused:
        await rest.hangup(TAKER_LEG)
    assert refused.value.status == 404
    assert fake.asked == []


async def test_a_channel_gone_meanwhile_is_still_404(asterisk: tuple[FakeAsterisk, AriRest]) -> None:
    fake, rest = asterisk
    fake.live = set()
    with pytest.raises(AriError) as refused:
        await rest.hangup(CALLER)
    assert refused.value.status == 404
    assert fake.asked == ["DELETE PJSIP/carrier-00000006", f"DELETE {CALLER}"]


async def test_amis_setvar_names_the_channel_too() -> None:
    class Node:
        channels: list[str] = []

        async def set_channel_var(self, channel_id: str, variable: str, value: str) -> None:
            self.channels.append(channel_id)

    names, node = ChannelNames(), Node()
    for event in events_until("StasisStart", CALLER):
        names.seen(event)
    variables = NodeVariables(cast(dict[str, PhoneWatch], {"": node}), names)
    await variables.set_channel_var(CALLER, "TALK_DETECT(remove)", "")
    assert node.channels == ["PJSIP/carrier-00000006"]


async def test_amis_setvar_on_a_renamed_channel_is_asked_again_by_id() -> None:
    class Node:
        channels: list[str] = []

        async def set_channel_var(self, channel_id: str, variable: str, value: str) -> None:
            self.channels.append(channel_id)
            if channel_id.startswith("PJSIP/"):
                raise AmiUnavailable(f"Setvar {variable} on {channel_id}: No such channel")

    names, node = ChannelNames(), Node()
    for event in events_until("StasisStart", CALLER):
        names.seen(event)
    await NodeVariables(cast(dict[str, PhoneWatch], {"": node}), names).set_channel_var(CALLER, "X", "")
    assert node.channels == ["PJSIP/carrier-00000006", CALLER]
