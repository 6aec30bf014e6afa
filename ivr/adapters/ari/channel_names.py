"""Live channels' names, so requests about a channel reach Asterisk by name, not by id.

Why: Asterisk finds a channel by its name in a hash table, but by its id only by walking
every channel, each locked in turn, with the global channel lock held (the default
channel storage of Asterisk 22). New calls wait for that lock: under load every lookup
by id slows the answer to every arriving caller. Requests that look a channel up by id
this way (hang-up, snoop, reading a variable, AMI's Setvar) are sent with the name.

Rules:
- A name is learnt from the channel's StasisStart or from the reply that made the channel
  (snoop, externalMedia, originate); it is forgotten at the channel's ChannelDestroyed,
  and every name a node gave is forgotten when that node's events reconnect (an Asterisk
  restarted meanwhile numbers its channels afresh).
- An id with no name known is sent as the id: Asterisk's answer is the same, only slower.
- A request refused because Asterisk knows no channel of that name (one renamed since)
  is asked again by id (asked()), so the answer is always Asterisk's.
- A channel whose ChannelDestroyed arrived is known gone: asking Asterisk to hang it up
  would walk every channel to answer 404, so that answer is given here.
- Both tables are bounded (oldest forgotten first).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from ivr.adapters.ari import models as ari

T = TypeVar("T")

KEPT = 20_000  # names, and ids known gone: ten times the channels of a surge


class ChannelNames:
    def __init__(self, kept: int = KEPT) -> None:
        self._names: dict[str, str] = {}
        self._gone: dict[str, None] = {}
        self._kept = kept

    def seen(self, event: ari.AnyEvent) -> None:
        """Learn from one ARI event (before the engine handles it)."""
        if isinstance(event, ari.StasisStart):
            self.learn(event.channel)
        elif isinstance(event, ari.ChannelDestroyed):
            self._names.pop(event.channel.id, None)
            self._gone[event.channel.id] = None
            _bound(self._gone, self._kept)

    def learn(self, channel: ari.Channel) -> None:
        if channel.id in self._gone or not channel.name:
            return
        self._names[channel.id] = channel.name
        _bound(self._names, self._kept)

    def address(self, channel_id: str) -> str:
        """What to name the channel by in a request: its name if known, else its id."""
        return self._names.get(channel_id, channel_id)

    async def asked(
        self, channel_id: str, ask: Callable[[str], Awaitable[T]], unknown: Callable[[Exception], bool]
    ) -> T:
        """`ask` about the channel by its name; asked again by its id when the name is
        refused as `unknown` (a name, not an id, was sent)."""
        address = self.address(channel_id)
        try:
            return await ask(address)
        except Exception as exc:
            if address == channel_id or not unknown(exc):
                raise
        return await ask(channel_id)

    def gone(self, channel_id: str) -> bool:
        return channel_id in self._gone

    def forget(self, mine: Callable[[str], bool] | None = None) -> None:
        """A node's events reconnected: forget its channels (every channel with no `mine`)."""
        for table in (self._names, self._gone):
            for channel_id in [key for key in table if mine is None or mine(key)]:
                del table[channel_id]


def _bound(table: dict[str, str] | dict[str, None], kept: int) -> None:
    while len(table) > kept:
        del table[next(iter(table))]
