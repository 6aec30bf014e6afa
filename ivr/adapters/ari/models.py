"""Typed ARI resources and events, only the fields this control plane uses.

Rules: unknown fields are ignored (Asterisk adds fields between versions); an event of
a type we do not model still parses, as UnknownEvent, so a new Asterisk never breaks
the event loop; a malformed message raises pydantic.ValidationError for the caller to log.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class AriModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class CallerId(AriModel):
    name: str = ""
    number: str = ""


class DialplanCEP(AriModel):
    context: str = ""
    exten: str = ""
    priority: int = 0
    app_name: str = ""
    app_data: str = ""


class Channel(AriModel):
    id: str
    name: str
    state: str
    caller: CallerId = CallerId()
    connected: CallerId = CallerId()
    dialplan: DialplanCEP = DialplanCEP()
    creationtime: datetime | None = None
    language: str = ""


class Bridge(AriModel):
    id: str
    technology: str = ""
    bridge_type: str = ""
    bridge_class: str = ""
    name: str = ""
    channels: list[str] = []


class Playback(AriModel):
    id: str
    media_uri: str
    target_uri: str = ""
    state: str = ""


class Endpoint(AriModel):
    technology: str
    resource: str
    state: str = "unknown"  # unknown | offline | online
    channel_ids: list[str] = []


class Event(AriModel):
    application: str = ""
    timestamp: datetime | None = None


class StasisStart(Event):
    type: Literal["StasisStart"]
    args: list[str] = []
    channel: Channel
    replace_channel: Channel | None = None


class StasisEnd(Event):
    type: Literal["StasisEnd"]
    channel: Channel


class ChannelStateChange(Event):
    type: Literal["ChannelStateChange"]
    channel: Channel


class ChannelDestroyed(Event):
    type: Literal["ChannelDestroyed"]
    channel: Channel
    cause: int = 0
    cause_txt: str = ""


class ChannelHangupRequest(Event):
    type: Literal["ChannelHangupRequest"]
    channel: Channel
    cause: int = 0
    soft: bool = False


class ChannelDtmfReceived(Event):
    type: Literal["ChannelDtmfReceived"]
    channel: Channel
    digit: str
    duration_ms: int = 0


class ChannelTalkingStarted(Event):
    """TALK_DETECT on the channel heard sound above its energy threshold."""

    type: Literal["ChannelTalkingStarted"]
    channel: Channel


class ChannelTalkingFinished(Event):
    type: Literal["ChannelTalkingFinished"]
    channel: Channel
    duration: int = 0  # milliseconds of talking that just ended


class PlaybackStarted(Event):
    type: Literal["PlaybackStarted"]
    playback: Playback


class PlaybackFinished(Event):
    type: Literal["PlaybackFinished"]
    playback: Playback


class ChannelEnteredBridge(Event):
    type: Literal["ChannelEnteredBridge"]
    bridge: Bridge
    channel: Channel


class ChannelLeftBridge(Event):
    type: Literal["ChannelLeftBridge"]
    bridge: Bridge
    channel: Channel


class EndpointStateChange(Event):
    type: Literal["EndpointStateChange"]
    endpoint: Endpoint


class Dial(Event):
    type: Literal["Dial"]
    peer: Channel
    caller: Channel | None = None
    dialstatus: str = ""


class UnknownEvent(Event):
    type: str
    model_config = ConfigDict(extra="allow", frozen=True)


KnownEvent = Annotated[
    StasisStart
    | StasisEnd
    | ChannelStateChange
    | ChannelDestroyed
    | ChannelHangupRequest
    | ChannelDtmfReceived
    | ChannelTalkingStarted
    | ChannelTalkingFinished
    | PlaybackStarted
    | PlaybackFinished
    | ChannelEnteredBridge
    | ChannelLeftBridge
    | EndpointStateChange
    | Dial,
    Field(discriminator="type"),
]
AnyEvent = KnownEvent | UnknownEvent

_known: TypeAdapter[KnownEvent] = TypeAdapter(KnownEvent)
KNOWN_TYPES = frozenset(
    get_args(member.model_fields["type"].annotation)[0] for member in get_args(get_args(KnownEvent)[0])
)


def parse_event(raw: str | bytes | dict[str, Any]) -> AnyEvent:
    """Parse one WebSocket message into a typed event."""
    data = raw if isinstance(raw, dict) else json.loads(raw)  # a ValueError if it is not JSON
    if not isinstance(data, dict):
        raise ValueError(f"an ARI event is a JSON object, not {type(data).__name__}")
    if data.get("type") in KNOWN_TYPES:
        return _known.validate_python(data)
    return UnknownEvent.model_validate(data)
