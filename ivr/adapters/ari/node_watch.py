"""Several Asterisk nodes watched: each one's events stream, and when a node is lost.

Rules:
- Each node has its own events stream; after each (re)connect that node alone is
  reconciled (its own lists, the calls whose ids it holds).
- A node whose stream was up and stays down for `lost_after` seconds is lost: its calls
  are cut off (to be called back) once per outage; a node that comes back is watched
  afresh. A node that never came up since the start held no call of ours.
- The centre's ARI counts as connected while any node is: calls go on on the others.
- The SIP edges (`edges`, when there are several) are probed alongside, hence only while
  this control plane leads and watches the nodes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

from ivr.adapters.ari.events import EventHandler, EventStream
from ivr.adapters.ari.nodes import NodeRouter
from ivr.adapters.ari.port import Ari
from ivr.adapters.sip_edges import EdgeWatch

log = logging.getLogger(__name__)

Connected = Callable[[Ari, Callable[[str], bool]], Awaitable[None]]  # a node's Ari, its ids
Lost = Callable[[str, Callable[[str], bool]], None]  # the node's name, its ids


class NodeWatch:
    def __init__(
        self,
        router: NodeRouter,
        streams: Mapping[str, EventStream],
        lost_after: float,
        edges: EdgeWatch | None = None,
    ) -> None:
        self.router = router
        self.edges = edges
        self.streams = dict(streams)
        self.lost_after = lost_after
        self.lost: set[str] = set()  # nodes declared lost and not back yet
        router.placement.up = lambda name: name in self.streams and self.streams[name].connected.is_set()

    def connected(self) -> bool:
        return any(stream.connected.is_set() for stream in self.streams.values())

    def edge_status(self) -> dict[str, bool]:
        """With several SIP edges: each one answering or not (else empty)."""
        return self.edges.status() if self.edges is not None else {}

    def status(self) -> dict[str, bool]:
        """Each node's events stream: up or not."""
        return {name: stream.connected.is_set() for name, stream in self.streams.items()}

    async def run(self, on_event: EventHandler, on_connected: Connected, on_lost: Lost) -> None:
        async with asyncio.TaskGroup() as group:
            for name, stream in self.streams.items():
                events = self._stream(name, stream, on_event, on_connected)
                group.create_task(events, name=f"ari-events-{name}")
                group.create_task(self._watch(name, stream, on_lost), name=f"ari-node-{name}")
            if self.edges is not None:
                group.create_task(self.edges.run(), name="sip-edges")

    async def _stream(
        self, name: str, stream: EventStream, on_event: EventHandler, on_connected: Connected
    ) -> None:
        node, mine = self.router.node(name), self.router.owns(name)

        async def connected() -> None:
            self.lost.discard(name)
            await on_connected(node, mine)

        await stream.run(on_event, connected)

    async def _watch(self, name: str, stream: EventStream, on_lost: Lost) -> None:
        while True:
            await stream.connected.wait()
            await stream.down.wait()
            log.warning("Asterisk node %s: events stream down", name)
            try:
                await asyncio.wait_for(stream.connected.wait(), self.lost_after)
            except TimeoutError:
                self.lost.add(name)  # until it is back: once per outage
                log.error("Asterisk node %s lost (down %.1f s): calls there cut off", name, self.lost_after)
                on_lost(name, self.router.owns(name))
