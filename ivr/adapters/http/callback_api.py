"""HTTP routes for calling abandoned callers back.

  GET  /api/callbacks               abandoned callers of the last 24 h to call back, what to do first first
  POST /api/callbacks/{call}        body {"taker": "taker03"}: ring that call taker, then dial the number

Rules: the list comes from the archive (callback_list.py decides who is on it and in
which order) with each number's prank reports; a call taker always calls back as
themselves, a supervisor names the call taker; a callback starts only for an abandoned
call with a dialable number, when no callback to that number is going on and the call
taker is logged in, idle and reachable (409 naming what is in the way otherwise).
A number the operator marked private (withheld) is dialled but never shown: replies and
messages say "anonymous" (ivr.core.privacy), and the callback carries the mark.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field

from ivr.adapters.call_store import CallStore, StoreUnavailable
from ivr.adapters.http.auth import USER
from ivr.adapters.http.centre import Centre
from ivr.adapters.http.replies import error, parsed, stored_record
from ivr.adapters.reputation_store import ReputationStore
from ivr.core.callback_list import CALL_BACK, callback_list, dialable
from ivr.core.privacy import is_withheld, shown

WINDOW_SECONDS = 24 * 3600
COLUMNS = (
    "call_id, caller, arrived_at, ended_at, outcome, verdict, taker, callback_of, "
    "json_extract(record, '$.withheld') AS withheld"
)


class CallbackBody(BaseModel):
    taker: str = Field(min_length=1, max_length=31, pattern=r"^[a-z][a-z0-9_-]*$")


async def callback_entries(centre: Centre, reputation: ReputationStore, now: float) -> list[dict[str, Any]]:
    """The callback list as the API and the dashboard show it."""
    archive = centre.archive
    if archive is None:
        return []
    rows = await archive.query(f"SELECT {COLUMNS} FROM calls WHERE arrived_at >= ?", now - WINDOW_SECONDS)
    live = {callback.called_back: cb_id for cb_id, callback in centre.callbacks().items()}
    entries = callback_list(rows, live, {})
    numbers = {row["call_id"]: row["caller"] for row in rows}  # the real ones, for the reputation
    for entry in entries:
        try:
            entry["prank_reports"] = (await reputation.reputation(numbers[entry["call_id"]], now)).prank
        except StoreUnavailable:
            entry["prank_reports"] = None  # unknown, not zero
    return entries


def add_callback_routes(
    app: web.Application,
    centre: Centre,
    store: CallStore,
    reputation: ReputationStore,
    clock: Callable[[], float] = time.time,
) -> None:
    async def listing(request: web.Request) -> web.Response:
        if centre.archive is None:
            return error(503, "no call archive in this control plane")
        return web.json_response({"callbacks": await callback_entries(centre, reputation, clock())})

    async def start(request: web.Request) -> web.Response:
        call_id = request.match_info["call"]
        body = await parsed(request, CallbackBody, "callback request")
        user = request[USER]
        taker = user.acting_as(body.taker)
        record = await stored_record(store, call_id)
        if record.get("callback_of"):
            return error(409, f"{call_id} is a callback itself; call back {record['callback_of']}")
        if record.get("outcome") not in CALL_BACK:
            outcome = record.get("outcome") or "still going on"
            only = "only abandoned or cut-off callers are called back"
            return error(409, f"call {call_id} is {outcome}: {only}")
        number = str(record.get("caller", ""))
        withheld = is_withheld(record)
        if not dialable(number):
            return error(409, f"call {call_id} has no number to call back ('{shown(number, withheld)}')")
        going = [c for c in centre.callbacks().values() if c.number == number]
        if going:
            hidden = withheld or any(g.withheld for g in going)  # nor linked to a withheld call
            return error(409, f"{shown(number, hidden)} is being called back already ({going[0].call_id})")
        person = centre.takers().get(taker)
        if person is None:
            return error(400, f"no call taker '{taker}'", "invalid_body")
        if not person.free(clock()):
            why = person.declared.value if person.declared.value != "available" else person.activity.value
            reach = "" if person.reachable else ", phone unreachable"
            return error(409, f"{taker} is not free for a callback ({why}{reach})")
        attempt = 1 + sum(e.get("entry") == "callback-started" for e in record.get("timeline", []))
        callback = centre.start_callback(call_id, attempt, number, taker, user.taker or user.name, withheld)
        reply = {"call_id": call_id, "callback": callback, "taker": taker, "number": shown(number, withheld)}
        return web.json_response(reply, status=202)

    app.router.add_get("/api/v1/callbacks", listing)
    app.router.add_post("/api/v1/callbacks/{call}", start)
