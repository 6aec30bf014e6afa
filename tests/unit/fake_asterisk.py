"""An in-memory Asterisk for the engine's unit tests: it speaks the control plane's ARI
protocol (ivr.adapters.ari.port.Ari) and sends back the events a real Asterisk 22 sends
for the same requests, in the same order: StasisStart when a channel enters the app,
ChannelStateChange on answer, PlaybackStarted/PlaybackFinished around a prompt,
ChannelHangupRequest, StasisEnd and ChannelDestroyed when a channel goes, StasisEnd
alone when it continues in the dialplan. Phones answer after a delay, or never (the
originate's timeout then ends the leg with "No answer"); an offline endpoint refuses.

Rules: events are delivered one at a time, after the request that caused them returned
(as over the WebSocket); a request for a channel, bridge or playback that does not exist
fails with HTTP 404, as Asterisk answers; a stalled channel's requests never return (a
hung Asterisk thread), so a test can show nobody else waits. Never a stand-in for the
real-stack tests: it checks the engine's wiring, not Asterisk.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ivr.adapters.ari.models import AnyEvent, Bridge, Channel, Endpoint, Playback, parse_event
from ivr.adapters.ari.port import AriError

Handler = Callable[[AnyEvent], Awaitable[None]]


@dataclass
class FakeChannel:
    id: str
    name: str
    number: str
    state: str = "Up"
    app_args: list[str] = field(default_factory=list)  # in the app while not empty
    created: float = field(default_factory=time.time)  # wall clock, as Asterisk reports it


@dataclass
class Phone:
    answers_after: float | None = 0.05  # None: rings until the originate's timeout
    srtp: bool = False  # its answer took the SRTP offer (CHANNEL(rtp,secure) is 1)


class FakeAsterisk:
    def __init__(self, app: str = "ivr112", prompt_seconds: float = 0.05, quiet: bool = False) -> None:
        self._app = app
        self.prompt_seconds = prompt_seconds
        self.quiet = quiet  # True: answers requests, sends no events (a recorded stream is replayed)
        self.legs: dict[str, FakeChannel] = {}
        self.mixes: dict[str, list[str]] = {}
        self.playbacks: dict[str, str] = {}  # playback id -> channel id
        self.phones: dict[str, Phone] = {}  # endpoint -> how it answers
        self.offline: set[str] = set()
        self.stalled: set[str] = set()  # channels whose requests never return
        self.requests: list[tuple[str, ...]] = []
        self._events: asyncio.Queue[AnyEvent] = asyncio.Queue()
        self._numbers = itertools.count(1)
        self._pump: asyncio.Task[None] | None = None
        self._later: set[asyncio.TimerHandle] = set()
        self._busy = 0

    @property
    def app(self) -> str:
        return self._app

    # ---- the test's side -------------------------------------------------------------
    def connect(self, handler: Handler) -> None:
        """Events go to this handler from now on (the engine's on_event)."""
        self._pump = asyncio.create_task(self._deliver(handler))

    async def close(self) -> None:
        for handle in self._later:
            handle.cancel()
        if self._pump is not None:
            self._pump.cancel()
            await asyncio.gather(self._pump, return_exceptions=True)

    async def settle(self, rounds: int = 20) -> None:
        """Until every event sent so far was handled and the requests it caused were made."""
        quiet_rounds = 0
        while quiet_rounds < rounds:
            await asyncio.sleep(0)
            quiet_rounds = quiet_rounds + 1 if self._events.empty() and self._busy == 0 else 0

    def caller_dials(self, number: str = "081299000001", dialled: str = "112", *marks: str) -> str:
        """A caller from the trunk: answered by the dialplan, then Stasis(app,caller,...)."""
        channel = self._channel(f"PJSIP/carrier-{next(self._numbers):08x}", number)
        self._enter_app(channel, ["caller", dialled, *marks])
        return channel.id

    def hang_up(self, channel_id: str, cause: str = "Normal Clearing") -> None:
        """The far end hangs up (the caller, a phone)."""
        channel = self.legs.pop(channel_id, None)
        if channel is None:
            return
        for members in self.mixes.values():
            if channel_id in members:
                members.remove(channel_id)
        self._send("ChannelHangupRequest", channel=self._json(channel), cause=16)
        for playback_id in [p for p, c in self.playbacks.items() if c == channel_id]:
            self._finish_playback(playback_id)
        if channel.app_args:
            self._send("StasisEnd", channel=self._json(channel))
        self._send("ChannelDestroyed", channel=self._json(channel), cause=16, cause_txt=cause)

    def add_existing(self, channel: FakeChannel) -> None:
        """A channel that was there before the control plane connected (adoption tests)."""
        self.legs[channel.id] = channel

    def press(self, channel_id: str, digit: str) -> None:
        self._send("ChannelDtmfReceived", channel=self._json(self.legs[channel_id]), digit=digit)

    def asked(self, operation: str) -> list[tuple[str, ...]]:
        return [r for r in self.requests if r[0] == operation]

    # ---- ARI: the application and Asterisk -------------------------------------------
    async def filter_events(self, allowed: Iterable[str]) -> None:
        self.requests.append(("filter_events",))

    async def subscribe(self, event_source: str) -> None:
        self.requests.append(("subscribe", event_source))

    async def set_global(self, expression: str, value: str) -> None:
        self.requests.append(("set_global", expression, value))

    async def channel_var(self, channel_id: str, variable: str) -> str:
        channel = await self._request("channel_var", channel_id, variable)
        if variable == "CHANNEL(rtp,secure)":
            if self.phones.get(channel.name.rpartition("-")[0], Phone()).srtp:
                return "1"
            # as Asterisk answers for a phone that answered the SRTP offer with plain RTP:
            # the leg has no audio stream, the function cannot be read
            raise AriError("read channel variable", 500, "Unable to read provided function")
        return ""

    async def ping(self) -> None:
        self.requests.append(("ping",))

    # ---- ARI: channels -------------------------------------------------------------------
    async def answer(self, channel_id: str) -> None:
        channel = await self._request("answer", channel_id)
        if channel.state != "Up":
            channel.state = "Up"
            self._send("ChannelStateChange", channel=self._json(channel))

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        await self._request("hangup", channel_id)
        self.hang_up(channel_id, "Normal Clearing")

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
        self.requests.append(("originate", endpoint, channel_id, app_args))
        if endpoint in self.offline:
            raise AriError("originate", 500, "Allocation failed")
        channel = self._channel(f"{endpoint}-{next(self._numbers):08x}", caller_number, channel_id, "Down")
        phone = self.phones.get(endpoint, Phone())
        if phone.answers_after is None:
            self._after(ring_seconds, lambda: self.hang_up(channel_id, "No answer"))
        else:
            self._after(phone.answers_after, lambda: self._answered(channel_id, app_args.split(",")))
        return self._model(channel)

    async def continue_in_dialplan(self, channel_id: str, context: str, extension: str, label: str) -> None:
        channel = await self._request("continue", channel_id, label)
        channel.app_args = []
        self._send("StasisEnd", channel=self._json(channel))

    async def snoop(self, channel_id: str, snoop_id: str, app_args: str, spy: str = "in") -> Channel:
        raise AriError("snoop", 501, "not in the fake Asterisk")

    async def external_media(self, channel_id: str, host_port: str, audio_format: str = "slin") -> Channel:
        raise AriError("external media", 501, "not in the fake Asterisk")

    async def channels(self) -> list[Channel]:
        self.requests.append(("channels",))
        return [self._model(c) for c in self.legs.values()]

    async def endpoint(self, technology: str, resource: str) -> Endpoint:
        self.requests.append(("endpoint", f"{technology}/{resource}"))
        state = "offline" if f"{technology}/{resource}" in self.offline else "online"
        return Endpoint(technology=technology, resource=resource, state=state)

    # ---- ARI: prompts ---------------------------------------------------------------------
    async def play(self, channel_id: str, playback_id: str, media: str) -> Playback:
        await self._request("play", channel_id, playback_id, media)
        self.playbacks[playback_id] = channel_id
        playback = {"id": playback_id, "media_uri": media, "target_uri": f"channel:{channel_id}"}
        self._send("PlaybackStarted", playback=playback | {"state": "playing"})
        self._after(self.prompt_seconds, lambda: self._finish_playback(playback_id))
        return Playback.model_validate(playback)

    async def stop_playback(self, playback_id: str) -> None:
        self.requests.append(("stop_playback", playback_id))
        if playback_id not in self.playbacks:
            raise AriError("stop playback", 404, "Playback not found")
        self._finish_playback(playback_id)

    # ---- ARI: bridges ---------------------------------------------------------------------
    async def create_bridge(self, bridge_id: str, name: str) -> Bridge:
        self.requests.append(("create_bridge", bridge_id))
        self.mixes.setdefault(bridge_id, [])
        return Bridge(id=bridge_id, name=name, bridge_type="mixing")

    async def add_channels(self, bridge_id: str, channel_ids: list[str]) -> None:
        self.requests.append(("add_channels", bridge_id, *channel_ids))
        if bridge_id not in self.mixes:
            raise AriError("add to bridge", 404, "Bridge not found")
        for channel_id in channel_ids:
            if channel_id in self.stalled:
                await asyncio.Event().wait()
            if channel_id not in self.legs and not self.quiet:
                raise AriError("add to bridge", 422, "Channel not found")
            self.mixes[bridge_id].append(channel_id)

    async def destroy_bridge(self, bridge_id: str) -> None:
        self.requests.append(("destroy_bridge", bridge_id))
        if self.mixes.pop(bridge_id, None) is None:
            raise AriError("destroy bridge", 404, "Bridge not found")

    async def bridges(self) -> list[Bridge]:
        self.requests.append(("bridges",))
        return [Bridge(id=b, bridge_type="mixing", channels=list(m)) for b, m in self.mixes.items()]

    # ---- ARI: recordings (the recorder is not part of these tests) -----------------------
    async def record(self, channel_id: str, name: str) -> None:
        raise AriError("record", 501, "not in the fake Asterisk")

    async def stop_recording(self, name: str) -> None:
        raise AriError("stop recording", 501, "not in the fake Asterisk")

    async def stored_recordings(self) -> list[str]:
        return []

    async def delete_recording(self, name: str) -> None:
        raise AriError("delete recording", 404, "Recording not found")

    async def recording_file(self, name: str) -> bytes:
        raise AriError("get recording", 404, "Recording not found")

    # ---- inside -----------------------------------------------------------------------------
    async def _request(self, operation: str, channel_id: str, *rest: str) -> FakeChannel:
        self.requests.append((operation, channel_id, *rest))
        if channel_id in self.stalled:
            await asyncio.Event().wait()
        channel = self.legs.get(channel_id)
        if channel is None and self.quiet:  # replaying: the channels are in the recording
            return FakeChannel(channel_id, f"PJSIP/{channel_id}", "")
        if channel is None:
            raise AriError(operation, 404, "Channel not found")
        return channel

    def _channel(
        self, name: str, number: str, channel_id: str | None = None, state: str = "Up"
    ) -> FakeChannel:
        now = time.time()
        channel = FakeChannel(
            channel_id or f"{int(now)}.{next(self._numbers)}", name, number, state, created=now
        )
        self.legs[channel.id] = channel
        return channel

    def _enter_app(self, channel: FakeChannel, args: list[str]) -> None:
        channel.app_args = args
        self._send("StasisStart", args=args, channel=self._json(channel))

    def _answered(self, channel_id: str, args: list[str]) -> None:
        channel = self.legs.get(channel_id)
        if channel is None:
            return
        channel.state = "Up"
        self._send("ChannelStateChange", channel=self._json(channel))
        self._enter_app(channel, args)

    def _finish_playback(self, playback_id: str) -> None:
        channel_id = self.playbacks.pop(playback_id, None)
        if channel_id is not None:
            playback = {"id": playback_id, "media_uri": "", "target_uri": f"channel:{channel_id}"}
            self._send("PlaybackFinished", playback=playback | {"state": "done"})

    def _after(self, seconds: float, action: Callable[[], None]) -> None:
        def fire() -> None:
            self._later.discard(handle)
            action()

        handle = asyncio.get_running_loop().call_later(seconds, fire)
        self._later.add(handle)

    def _json(self, channel: FakeChannel) -> dict[str, Any]:
        args = ",".join([self._app, *channel.app_args])
        return {
            "id": channel.id,
            "name": channel.name,
            "state": channel.state,
            "caller": {"name": "", "number": channel.number},
            "connected": {"name": "", "number": ""},
            "dialplan": {
                "context": "emergency",
                "exten": "112",
                "priority": 9,
                "app_name": "Stasis" if channel.app_args else "",
                "app_data": args if channel.app_args else "",
            },
            "creationtime": datetime.fromtimestamp(channel.created, UTC).isoformat(),
            "language": "id",
        }

    def _model(self, channel: FakeChannel) -> Channel:
        return Channel.model_validate(self._json(channel))

    def _send(self, kind: str, **body: Any) -> None:
        if not self.quiet:
            stamp = datetime.now(UTC).isoformat()
            self._events.put_nowait(
                parse_event({"type": kind, "timestamp": stamp, "application": self._app, **body})
            )

    async def _deliver(self, handler: Handler) -> None:
        while True:
            event = await self._events.get()
            self._busy += 1
            try:
                await handler(event)
            finally:
                self._busy -= 1
