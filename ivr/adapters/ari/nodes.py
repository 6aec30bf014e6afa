"""Several Asterisk nodes behind one Ari: each request goes to the node that holds its object.

Rules:
- A node is named by its Asterisk `systemname`: every channel id Asterisk makes there
  begins with "<name>-", and every id the control plane makes embeds its call's id
  (ivr.core.ids), so the node of a channel, bridge, playback or recording is the part of
  its id before the first "-". An id that names no node goes to the first node: the
  single-node form is one node whose ids carry no name.
- A request about no one object (the event filter, a global variable, a subscription,
  a ping) goes to every node; it fails only when every node failed (with the first
  node's error), so a dead node does not fail the rest.
- Lists (channels, bridges, stored recordings) are the union of the nodes that answer.
  Nothing is judged from a node's silence here: its calls are judged when the node is
  declared lost (ivr.engine.nodes), and after a reconnect from that node's own lists.
- An endpoint is read from the first node that answers: every node reaches the phones
  through the same SIP edge.
- A call the centre places itself (a callback: a leg with no caller to join) whose ids
  name a node that is down now goes to the first node that is up, and every later id of
  that call follows it there: a lost node's callers are called back through the others.
  A leg joining a caller (a call taker, an agency) always goes to the caller's node.
- Every leg originated is dialled as `dial` (if given) rewrites its endpoint: through a
  SIP edge that is alive when there are several (ivr.adapters.sip_edges).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TypeVar

from ivr.adapters.ari.models import Bridge, Channel, Endpoint, Playback
from ivr.adapters.ari.port import Ari, AriError, AriUnavailable
from ivr.core import ids

log = logging.getLogger(__name__)

NODE_NAME = re.compile(r"^[a-z][a-z0-9]{0,7}$")
T = TypeVar("T")
PLACED_KEPT = 1000  # calls placed away from the node their ids name, remembered (oldest forgotten)


class NodesInvalid(ValueError):
    pass


def parse_nodes(text: str) -> dict[str, str]:
    """ "a1=http://127.0.0.51:8088,a2=http://127.0.0.52:8088" -> {name: ARI base URL}, in order."""
    nodes: dict[str, str] = {}
    for number, item in enumerate(filter(None, (part.strip() for part in text.split(","))), 1):
        name, sep, url = item.partition("=")
        name, url = name.strip(), url.strip()
        if not sep or not NODE_NAME.match(name):
            raise NodesInvalid(
                f"node {number} ({item!r}): write name=URL, the name as the node's Asterisk systemname "
                "(a-z then up to 7 of a-z 0-9)"
            )
        if not re.match(r"^https?://[^/\s]+$", url):
            raise NodesInvalid(f"node {name}: {url!r} is not an ARI base URL (http://host:port)")
        if name in nodes:
            raise NodesInvalid(f"node {name} is given twice")
        if url in nodes.values():
            raise NodesInvalid(f"node {name}: {url} is another node's address")
        nodes[name] = url
    return nodes


def node_of(object_id: str, names: Iterable[str]) -> str | None:
    """The node an id belongs to, or None when it names none of `names`."""
    prefix, sep, _ = object_id.partition("-")
    return prefix if sep and prefix in set(names) else None


class Placement:
    """Which node holds an id's object: the one its prefix names, unless its call was placed
    elsewhere. One per centre, shared by every router over the same nodes."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = list(names)
        self.up: Callable[[str], bool] = lambda name: True  # set by the nodes' watch
        self._placed: dict[str, str] = {}  # a call placed away from its ids' node -> the node

    def home(self, object_id: str) -> str:
        for call, name in self._placed.items():
            if object_id == call or object_id.startswith(f"{call}-"):
                return name
        found = node_of(object_id, self.names)
        return self.names[0] if found is None else found

    def place(self, channel_id: str) -> None:
        """A call the centre places: on a node that is up, if the one its ids name is not."""
        home = self.home(channel_id)
        spare = next((name for name in self.names if self.up(name)), None)
        if self.up(home) or spare is None:
            return
        call = ids.call_of_taker_leg(channel_id) or ids.callback_of_callee_leg(channel_id) or channel_id
        self._placed[call] = spare
        while len(self._placed) > PLACED_KEPT:
            del self._placed[next(iter(self._placed))]
        log.warning("call %s placed on node %s: node %s is down", call, spare, home)


class NodeRouter:
    """One Ari over several nodes (name -> that node's Ari), the first being the default."""

    def __init__(
        self,
        nodes: Mapping[str, Ari],
        placement: Placement | None = None,
        dial: Callable[[str, str], str] | None = None,
    ) -> None:
        if not nodes:
            raise NodesInvalid("no Asterisk node given")
        self.nodes = dict(nodes)
        self.placement = placement or Placement(self.nodes)
        self.dial = dial  # (endpoint, channel id) -> the endpoint as dialled (the live SIP edge's)
        if self.placement.names != list(self.nodes):
            raise NodesInvalid("a placement shared by routers over other nodes")

    @property
    def app(self) -> str:
        return self.nodes[self.placement.names[0]].app

    def node(self, name: str) -> Ari:
        return self.nodes[name]

    def owns(self, name: str) -> Callable[[str], bool]:
        """Whether an id (a call's, a leg's, a bridge's) belongs to node `name`."""
        return lambda object_id: self.placement.home(object_id) == name

    def _at(self, object_id: str) -> Ari:
        return self.nodes[self.placement.home(object_id)]

    async def _each(
        self,
        request: Callable[[Ari], Awaitable[T]],
        tolerated: tuple[type[Exception], ...] = (AriError, AriUnavailable),
    ) -> list[T]:
        """The answers of every node that gave one; fails when none did (the first node's
        error) or when a node failed otherwise than `tolerated` (a bug is not a dead node)."""
        results = await asyncio.gather(*(request(n) for n in self.nodes.values()), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, tolerated):
                raise result
        answers = [r for r in results if not isinstance(r, BaseException)]
        if not answers:
            first = results[0]
            assert isinstance(first, BaseException)
            raise first
        return answers

    # ---- the application and Asterisk ----
    async def filter_events(self, allowed: Iterable[str]) -> None:
        kinds = list(allowed)
        await self._each(lambda n: n.filter_events(kinds))

    async def subscribe(self, event_source: str) -> None:
        await self._each(lambda n: n.subscribe(event_source))

    async def set_global(self, expression: str, value: str) -> None:
        await self._each(lambda n: n.set_global(expression, value))

    async def channel_var(self, channel_id: str, variable: str) -> str:
        return await self._at(channel_id).channel_var(channel_id, variable)

    async def ping(self) -> None:
        await self._each(lambda n: n.ping())

    # ---- channels ----
    async def answer(self, channel_id: str) -> None:
        await self._at(channel_id).answer(channel_id)

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        await self._at(channel_id).hangup(channel_id, reason)

    async def originate(
        self,
        *,
        endpoint: str,
        channel_id: str,
        app_args: str,
        caller_number: str,
        ring_seconds: int,
        originator: str | None = None,
        caller_name: str = "",
    ) -> Channel:
        if not originator:  # no caller to join: the centre places this call
            self.placement.place(channel_id)
        return await self._at(channel_id).originate(
            endpoint=self.dial(endpoint, channel_id) if self.dial else endpoint,
            channel_id=channel_id,
            app_args=app_args,
            caller_number=caller_number,
            ring_seconds=ring_seconds,
            originator=originator,
            caller_name=caller_name,
        )

    async def continue_in_dialplan(self, channel_id: str, context: str, extension: str, label: str) -> None:
        await self._at(channel_id).continue_in_dialplan(channel_id, context, extension, label)

    async def snoop(self, channel_id: str, snoop_id: str, app_args: str, spy: str = "in") -> Channel:
        return await self._at(channel_id).snoop(channel_id, snoop_id, app_args, spy)

    async def external_media(self, channel_id: str, host_port: str, audio_format: str = "slin") -> Channel:
        return await self._at(channel_id).external_media(channel_id, host_port, audio_format)

    async def channels(self) -> list[Channel]:
        return [c for found in await self._each(lambda n: n.channels(), (AriUnavailable,)) for c in found]

    async def endpoint(self, technology: str, resource: str) -> Endpoint:
        failure: Exception | None = None
        for node in self.nodes.values():
            try:
                return await node.endpoint(technology, resource)
            except AriUnavailable as exc:
                failure = failure or exc
        assert failure is not None
        raise failure

    # ---- prompts ----
    async def play(self, channel_id: str, playback_id: str, media: str) -> Playback:
        return await self._at(channel_id).play(channel_id, playback_id, media)

    async def stop_playback(self, playback_id: str) -> None:
        await self._at(playback_id).stop_playback(playback_id)

    # ---- bridges ----
    async def create_bridge(self, bridge_id: str, name: str) -> Bridge:
        return await self._at(bridge_id).create_bridge(bridge_id, name)

    async def add_channels(self, bridge_id: str, channel_ids: list[str]) -> None:
        await self._at(bridge_id).add_channels(bridge_id, channel_ids)

    async def destroy_bridge(self, bridge_id: str) -> None:
        await self._at(bridge_id).destroy_bridge(bridge_id)

    async def bridges(self) -> list[Bridge]:
        return [b for found in await self._each(lambda n: n.bridges(), (AriUnavailable,)) for b in found]

    # ---- recordings ----
    async def record(self, channel_id: str, name: str) -> None:
        await self._at(channel_id).record(channel_id, name)

    async def stop_recording(self, name: str) -> None:
        await self._at(name).stop_recording(name)

    async def stored_recordings(self) -> list[str]:
        found = await self._each(lambda n: n.stored_recordings(), (AriUnavailable,))
        return [name for names in found for name in names]

    async def delete_recording(self, name: str) -> None:
        await self._at(name).delete_recording(name)

    async def recording_file(self, name: str) -> bytes:
        return await self._at(name).recording_file(name)
