"""ARI REST calls over one aiohttp session.

Rules: one method per ARI operation we use, typed results; any non-2xx answer raises
AriError with the HTTP status, the operation and Asterisk's message; network failures
and requests Asterisk does not answer within the session's timeout raise AriUnavailable.
No retries here: the engine decides what a failure means. The requests that Asterisk
resolves by walking every channel (hang-up, snoop, a variable, an originator) name the
channel by its name when it is known (channel_names.py); a hang-up of a channel known
destroyed is answered 404 here.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import aiohttp
from pydantic import BaseModel

from ivr.adapters.ari.channel_names import ChannelNames
from ivr.adapters.ari.models import Bridge, Channel, Endpoint, Playback
from ivr.adapters.ari.port import AriError, AriUnavailable

__all__ = ["AriError", "AriRest", "AriUnavailable"]

ModelT = TypeVar("ModelT", bound=BaseModel)


class AriRest:
    """The Ari protocol (port.py) over HTTP."""

    def __init__(
        self, session: aiohttp.ClientSession, base_url: str, app: str, names: ChannelNames | None = None
    ) -> None:
        self._session = session
        self._base = base_url.rstrip("/") + "/ari"
        self.app = app
        self.names = names or ChannelNames()  # shared by every client of the same Asterisk

    async def _on_channel(
        self, method: str, channel_id: str, rest: str, operation: str, params: dict[str, str] | None = None
    ) -> Any:
        """A request about one channel, by its name if known (a slash in it quoted)."""

        async def ask(address: str) -> Any:
            path = f"/channels/{urllib.parse.quote(address, safe='')}{rest}"
            return await self._call(method, path, operation, params)

        return await self.names.asked(channel_id, ask, _not_found(404))

    def _made(self, data: Any) -> Channel:
        channel = Channel.model_validate(data)
        self.names.learn(channel)
        return channel

    async def _call(
        self,
        method: str,
        path: str,
        operation: str,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> Any:
        url = self._base + path
        try:
            async with self._session.request(method, url, params=params, json=body) as resp:
                text = await resp.text()
                if resp.status >= 300:
                    try:
                        message = json.loads(text).get("message", text)
                    except ValueError:
                        message = text
                    raise AriError(operation, resp.status, message)
                return json.loads(text) if text else None
        except (aiohttp.ClientError, TimeoutError) as exc:  # refused, reset, or no answer in time
            raise AriUnavailable(f"ARI {operation}: {type(exc).__name__} {exc}".rstrip()) from exc

    async def filter_events(self, allowed: Iterable[str]) -> None:
        """Asterisk sends this application only these event types (less JSON both sides)."""
        body = {"allowed": [{"type": t} for t in sorted(allowed)]}  # the body is the filter
        await self._call("PUT", f"/applications/{self.app}/eventFilter", "event filter", body=body)

    async def set_global(self, expression: str, value: str) -> None:
        params = {"variable": expression, "value": value}
        await self._call("POST", "/asterisk/variable", "set variable", params)

    async def channel_var(self, channel_id: str, variable: str) -> str:
        """A channel's variable or function, e.g. CHANNEL(rtp,secure)."""
        params = {"variable": variable}
        data = await self._on_channel("GET", channel_id, "/variable", "read channel variable", params)
        return str((data or {}).get("value", ""))

    async def ping(self) -> None:
        await self._call("GET", "/asterisk/ping", "ping")

    async def answer(self, channel_id: str) -> None:
        await self._call("POST", f"/channels/{channel_id}/answer", "answer")

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        if self.names.gone(channel_id):
            raise AriError("hangup", 404, "Channel not found (destroyed)")
        await self._on_channel("DELETE", channel_id, "", "hangup", {"reason": reason})

    async def play(self, channel_id: str, playback_id: str, media: str) -> Playback:
        data = await self._call(
            "POST", f"/channels/{channel_id}/play/{playback_id}", "play", {"media": media}
        )
        return Playback.model_validate(data)

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
        caller_id = f'"{caller_name}" <{caller_number}>' if caller_name else caller_number
        params = {
            "endpoint": endpoint,
            "app": self.app,
            "appArgs": app_args,
            "channelId": channel_id,
            "callerId": caller_id,
            "timeout": str(ring_seconds),
        }
        if not originator:
            return self._made(await self._call("POST", "/channels", "originate", params))

        async def ask(address: str) -> Any:  # an unknown originator is refused before any dialling
            return await self._call("POST", "/channels", "originate", params | {"originator": address})

        return self._made(await self.names.asked(originator, ask, _not_found(400)))

    async def snoop(self, channel_id: str, snoop_id: str, app_args: str, spy: str = "in") -> Channel:
        """A channel that hears `channel_id` (spy in: what it sends; both: and what it hears)."""
        params = {"spy": spy, "whisper": "none", "app": self.app, "appArgs": app_args, "snoopId": snoop_id}
        data = await self._on_channel("POST", channel_id, "/snoop", "snoop", params)
        return self._made(data)

    async def external_media(self, channel_id: str, host_port: str, audio_format: str = "slin") -> Channel:
        """An externalMedia (chan_rtp) channel sending RTP to host_port."""
        params = {
            "app": self.app,
            "channelId": channel_id,
            "external_host": host_port,
            "encapsulation": "rtp",
            "transport": "udp",
            "format": audio_format,
            "direction": "both",
        }
        data = await self._call("POST", "/channels/externalMedia", "external media", params)
        return self._made(data)

    async def record(self, channel_id: str, name: str) -> None:
        """Record a channel into <recordings>/<name>.wav; refuses to overwrite."""
        params = {"name": name, "format": "wav", "ifExists": "fail", "beep": "false", "terminateOn": "none"}
        await self._call("POST", f"/channels/{channel_id}/record", "record", params)

    async def stop_recording(self, name: str) -> None:
        """Stop a live recording and keep its file (never 'cancel', which deletes it)."""
        await self._call("POST", f"/recordings/live/{name}/stop", "stop recording")

    async def stored_recordings(self) -> list[str]:
        data = await self._call("GET", "/recordings/stored", "list recordings")
        return [str(item["name"]) for item in data or []]

    async def delete_recording(self, name: str) -> None:
        await self._call("DELETE", f"/recordings/stored/{name}", "delete recording")

    async def recording_file(self, name: str) -> bytes:
        """The stored recording's file (WAV)."""
        url = f"{self._base}/recordings/stored/{name}/file"
        try:
            async with self._session.get(url) as resp:
                body = await resp.read()
                if resp.status >= 300:
                    raise AriError("get recording", resp.status, body.decode(errors="replace")[:200])
                return body
        except aiohttp.ClientError as exc:
            raise AriUnavailable(f"ARI get recording: {exc}") from exc

    async def continue_in_dialplan(self, channel_id: str, context: str, extension: str, label: str) -> None:
        await self._call(
            "POST",
            f"/channels/{channel_id}/continue",
            "continue",
            {"context": context, "extension": extension, "label": label},
        )

    async def stop_playback(self, playback_id: str) -> None:
        await self._call("DELETE", f"/playbacks/{playback_id}", "stop playback")

    async def create_bridge(self, bridge_id: str, name: str) -> Bridge:
        data = await self._call(
            "POST", f"/bridges/{bridge_id}", "create bridge", {"type": "mixing", "name": name}
        )
        return Bridge.model_validate(data)

    async def add_channels(self, bridge_id: str, channel_ids: list[str]) -> None:
        await self._call(
            "POST",
            f"/bridges/{bridge_id}/addChannel",
            "add to bridge",
            {"channel": ",".join(channel_ids)},
        )

    async def destroy_bridge(self, bridge_id: str) -> None:
        await self._call("DELETE", f"/bridges/{bridge_id}", "destroy bridge")

    async def channels(self) -> list[Channel]:
        return _list(Channel, await self._call("GET", "/channels", "list channels"))

    async def bridges(self) -> list[Bridge]:
        return _list(Bridge, await self._call("GET", "/bridges", "list bridges"))

    async def endpoint(self, technology: str, resource: str) -> Endpoint:
        data = await self._call("GET", f"/endpoints/{technology}/{resource}", "get endpoint")
        return Endpoint.model_validate(data)

    async def subscribe(self, event_source: str) -> None:
        await self._call(
            "POST",
            f"/applications/{self.app}/subscription",
            "subscribe",
            {"eventSource": event_source},
        )


def _not_found(status: int) -> Callable[[Exception], bool]:
    """Asterisk's refusal of a channel name it does not know: that status."""
    return lambda exc: isinstance(exc, AriError) and exc.status == status


def _list(model: type[ModelT], data: Any) -> list[ModelT]:
    return [model.model_validate(item) for item in data or []]
