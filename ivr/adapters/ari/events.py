"""The ARI events WebSocket, kept connected for as long as the app runs.

Rules:
- Never gives up: a connection that was up and closed is retried at once (while the
  app is not connected, Asterisk sends new callers to the dialplan's fallback); every
  failed attempt is logged and retried with exponential backoff (0.5 s doubling to a
  cap), reset after a connection that stayed up.
- A silent drop is detected: aiohttp heartbeats (WebSocket ping) close a connection
  that stops answering, and the loop reconnects.
- After every (re)connect, on_connected runs before any event of that connection is
  delivered, so the engine can reconcile with what Asterisk holds.
- A message that does not parse is logged and skipped; it never ends the loop.
- The DEBUG dump of an event is written after the event was handled, so a withheld
  caller's number is already registered with the log's masking (ivr.adapters.log_hygiene).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import aiohttp

from ivr.adapters.ari.models import AnyEvent, parse_event

log = logging.getLogger(__name__)

EventHandler = Callable[[AnyEvent], Awaitable[None]]
ConnectedHandler = Callable[[], Awaitable[None]]


class EventStream:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        app: str,
        *,
        initial_delay: float = 0.5,
        max_delay: float = 30.0,
        heartbeat: float = 5.0,
    ) -> None:
        ws_base = base_url.rstrip("/").replace("http://", "ws://", 1).replace("https://", "wss://", 1)
        self._url = f"{ws_base}/ari/events"
        self._params = {"app": app, "subscribeAll": "false"}
        self._session = session
        self._initial_delay = initial_delay
        self._max_delay = max_delay
        self._heartbeat = heartbeat
        self.connected = asyncio.Event()
        self.down = asyncio.Event()  # set while not connected (a watcher's wake-up on a drop)
        self.down.set()
        self.attempts = 0

    async def run(self, on_event: EventHandler, on_connected: ConnectedHandler) -> None:
        delay = self._initial_delay
        while True:
            self.attempts += 1
            was_up = False
            try:
                async with self._session.ws_connect(
                    self._url, params=self._params, heartbeat=self._heartbeat
                ) as ws:
                    log.info("ARI events connected (%s, attempt %d)", self._url, self.attempts)
                    delay = self._initial_delay
                    try:
                        await on_connected()
                    except Exception:  # reconcile is best effort; events must flow regardless
                        log.exception("reconcile after connecting to ARI failed")
                    self.connected.set()
                    self.down.clear()
                    was_up = True
                    await self._pump(ws, on_event)
                    log.warning("ARI events connection closed (code %s); reconnecting", ws.close_code)
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                log.warning(
                    "ARI events unreachable at %s (attempt %d): %s; retrying in %.1f s",
                    self._url,
                    self.attempts,
                    exc or type(exc).__name__,
                    delay,
                )
            finally:
                self.connected.clear()
                self.down.set()
            if was_up:
                continue  # at once: the first retry after a drop does not wait
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._max_delay)

    async def _pump(self, ws: aiohttp.ClientWebSocketResponse, on_event: EventHandler) -> None:
        async for message in ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                if message.type == aiohttp.WSMsgType.ERROR:
                    log.warning("ARI events WebSocket error: %s", ws.exception())
                continue
            try:
                event = parse_event(message.data)
            except ValueError as exc:  # not JSON, or not a valid event (pydantic's ValidationError)
                log.error("ARI event skipped, it does not parse: %s: %.300s", exc, message.data)
                continue
            try:
                await on_event(event)
            except Exception:  # one bad event must not stop the handling of all calls
                log.exception("handling ARI event %s failed", event.type)
            finally:  # after the handler: a withheld caller's number is registered for masking
                log.debug("ARI event: %s", message.data)
