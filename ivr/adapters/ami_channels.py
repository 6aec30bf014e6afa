"""AMI for the watchdog: Asterisk's list of channels and bridges, and the few actions
that rescue stranded callers (redirect to the native queue, hang up, destroy a bridge).

Rules:
- Its own AMI user (class "call" for Redirect and Hangup; the control plane's user has
  it for Setvar), from loopback only; panoramisk reconnects by itself. Every action has
  a timeout and raises AmiUnavailable: the watchdog logs it and tries again at its next
  check, it never crashes on it.
- A redirected caller first gets IVR_HANDED_OVER=watchdog (the dialplan's log line says
  who handed it over), then goes to <context>,<exten>,<label> (emergency,112,handover).
- Nothing here decides what to do with a channel: ivr.core.handover does.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from panoramisk import Manager

from ivr.core.handover import Bridge, Leg

log = logging.getLogger(__name__)

ACTION_SECONDS = 5.0


class AmiUnavailable(Exception):
    pass


def _messages(reply: Any) -> list[Any]:
    return reply if isinstance(reply, list) else [reply]


class AsteriskChannels:
    def __init__(self, host: str, port: int, user: str, secret: str) -> None:
        self._logged_in = asyncio.Event()
        self._manager = Manager(
            host=host,
            port=port,
            username=user,
            secret=secret,
            ping_delay=10,
            reconnect_timeout=2,
            on_login=lambda _: self._logged_in.set(),
            on_disconnect=lambda *_: self._logged_in.clear(),
            log=logging.getLogger("ivr.adapters.ami_channels.panoramisk"),
        )

    def start(self) -> None:
        self._manager.loop = asyncio.get_running_loop()
        self._manager.connect()

    def close(self) -> None:
        self._manager.close()

    @property
    def connected(self) -> bool:
        return self._logged_in.is_set()

    async def _send(self, action: dict[str, str]) -> list[Any]:
        if not self._logged_in.is_set():
            raise AmiUnavailable("not logged in to AMI")
        try:
            reply = await asyncio.wait_for(self._manager.send_action(action), ACTION_SECONDS)
        except (TimeoutError, OSError, ConnectionError) as exc:
            raise AmiUnavailable(f"{action['Action']}: {exc or type(exc).__name__}") from exc
        messages = _messages(reply)
        if messages and messages[0].get("Response") == "Error":
            raise AmiUnavailable(f"{action['Action']} refused: {messages[0].get('Message', '')}")
        return messages

    async def listing(self) -> tuple[list[Leg], list[Bridge]]:
        """Every channel and every bridge Asterisk holds now."""
        legs = [
            Leg(
                id=m.get("Uniqueid", ""),
                name=m.get("Channel", ""),
                app=m.get("Application", ""),
                app_data=m.get("ApplicationData", ""),
                bridge=m.get("BridgeId", ""),
            )
            for m in await self._send({"Action": "CoreShowChannels"})
            if m.get("Event") == "CoreShowChannel"
        ]
        bridges = [
            Bridge(m.get("BridgeUniqueid", ""), m.get("BridgeType", ""))
            for m in await self._send({"Action": "BridgeList"})
            if m.get("Event") == "BridgeListItem"
        ]
        return legs, bridges

    async def redirect(self, leg: Leg, context: str, exten: str, label: str) -> None:
        await self._send(
            {"Action": "Setvar", "Channel": leg.name, "Variable": "IVR_HANDED_OVER", "Value": "watchdog"}
        )
        await self._send(
            {"Action": "Redirect", "Channel": leg.name, "Context": context, "Exten": exten, "Priority": label}
        )

    async def hangup(self, leg: Leg) -> None:
        await self._send({"Action": "Hangup", "Channel": leg.name})

    async def destroy_bridge(self, bridge_id: str) -> None:
        await self._send({"Action": "BridgeDestroy", "BridgeUniqueid": bridge_id})
