"""GET /api/v1/events: what happens to calls, as Server-Sent Events, for other systems
(computer-aided dispatch, GIS). The events and their cursors: ivr/adapters/event_feed.py.

Rules:
- Who may subscribe: the route's rule in auth.RULES (supervisors, engineers and the
  operators' key); a call taker has their desk instead.
- Each event is `id:` its cursor, `event:` its name, `data:` one line of JSON. The
  caller's number (withheld or not) goes only to a user who may read every call's record
  (auth.scope of GET /api/v1/calls/{call} is ALL); anyone else gets no "caller" and the
  number hidden wherever else it might stand (ivr.core.privacy): an engineer sees no
  caller's number, a withheld one least of all.
- Replay: Last-Event-ID (what an EventSource sends when it reconnects), else ?after=,
  names the last event the subscriber has; the events kept after it come first. When
  some are no longer kept (too old, or the control plane restarted since) an
  `event: gap` comes before them, with the reason and, as its id, the cursor to resume
  from: the subscriber re-reads the history for the missing stretch.
- A subscriber that falls behind is cut: its stream ends with `event: gap` (too-slow);
  it reconnects with its last id. A write that does not finish within WRITE_SECONDS
  ends the stream. A comment line every HEARTBEAT_SECONDS shows the stream is alive.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from aiohttp import web

from ivr.adapters.event_feed import FeedEvent, Gap
from ivr.adapters.http.auth import USER, Scope, User, scope
from ivr.adapters.http.centre import Centre
from ivr.adapters.http.replies import bad_parameter
from ivr.core import privacy

PATH = "/api/v1/events"
HEARTBEAT_SECONDS = 15.0
WRITE_SECONDS = 30.0
CURSOR = re.compile(r"[0-9a-f]{1,16}-[0-9]{1,18}")
RECORDS = ("GET", "/api/v1/calls/{call}")  # who may read it may see callers' numbers
HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def seen_by(data: dict[str, Any], sees_numbers: bool) -> dict[str, Any]:
    """An event's data as this subscriber may see it."""
    if sees_numbers or "caller" not in data:
        return data
    number = str(data["caller"])
    hidden: dict[str, Any] = privacy.masked({k: v for k, v in data.items() if k != "caller"}, number)
    return hidden


def message(event: FeedEvent, sees_numbers: bool) -> bytes:
    data = json.dumps(seen_by(event.data, sees_numbers), separators=(",", ":"))
    return f"id: {event.cursor}\nevent: {event.name}\ndata: {data}\n\n".encode()


def gap_message(reason: Gap, since: str | None) -> bytes:
    """A gap: with an id (the cursor to resume from) when the replay follows it."""
    first = f"id: {since}\n" if since is not None else ""
    data = json.dumps({"reason": reason.value, "since": since}, separators=(",", ":"))
    return f"{first}event: gap\ndata: {data}\n\n".encode()


def add_event_stream_route(
    app: web.Application, centre: Centre, heartbeat: float = HEARTBEAT_SECONDS
) -> None:
    async def events(request: web.Request) -> web.StreamResponse:
        user: User = request[USER]
        after = request.headers.get("Last-Event-ID") or request.query.get("after")
        if after is not None and not CURSOR.fullmatch(after):
            raise bad_parameter("after", "not a cursor of this stream (an event's id; or Last-Event-ID)")
        feed = centre.events()
        subscription, replay = feed.subscribe(after)
        sees_numbers = scope(user, *RECORDS) is Scope.ALL
        response = web.StreamResponse(headers=HEADERS)
        try:
            await response.prepare(request)

            async def send(chunk: bytes) -> None:
                await asyncio.wait_for(response.write(chunk), WRITE_SECONDS)

            await send(b": events of calls\n\n")  # the subscriber knows the stream is open
            if replay.gap is not None:
                await send(gap_message(replay.gap, replay.since))
            for kept in replay.events:
                await send(message(kept, sees_numbers))
            while True:
                event = await subscription.next(heartbeat)
                if subscription.cut:
                    await send(gap_message(Gap.TOO_SLOW, None))
                    break
                await send(message(event, sees_numbers) if event is not None else b": alive\n\n")
        except (ConnectionError, TimeoutError):
            pass  # the subscriber is gone or stuck: it reconnects with its last id
        finally:
            feed.unsubscribe(subscription)
        return response

    app.router.add_get(PATH, events)
