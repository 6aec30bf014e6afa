"""HTTP routes that act on a live call (agencies, leaving) and serve its recording.

Rules: a request is checked against the call's current state before it reaches the
core (unknown call 404, unknown agency 400 naming the known ones, 409 with the core's own
reason when the core would refuse it: ivr.core.call_agencies, no rule restated here), then
posted as an event exactly like the call taker's phone keys, by the signed-in user
(User.who; a "by" in the body is ignored); the reply says what was asked, the outcome
shows in the call's timeline. A recording is served once the call has ended (409
while it is live), as audio/wav; ?download=1 makes it an attachment.
"""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, Field

from ivr.adapters.ari.port import AriError, AriUnavailable
from ivr.adapters.call_store import CallStore
from ivr.adapters.http.auth import USER
from ivr.adapters.http.centre import Centre
from ivr.adapters.http.replies import error, parsed, refusal, stored_record
from ivr.core import events as ev
from ivr.core.call_agencies import agency_refusal, leave_refusal
from ivr.core.call_state import Call


class AgencyBody(BaseModel):
    agency: str = Field(min_length=1, max_length=31)


def add_live_call_routes(app: web.Application, centre: Centre, store: CallStore) -> None:
    def live(call_id: str) -> Call:
        call = centre.calls().get(call_id)
        if call is None:
            raise refusal(404, f"no live call '{call_id}'")
        return call

    async def agencies(request: web.Request) -> web.Response:
        call_id = request.match_info["call"]
        body = await parsed(request, AgencyBody, "agency request")
        call = live(call_id)
        known = [a.id for a in centre.config.agencies]
        if body.agency not in known:
            return error(400, f"unknown agency '{body.agency}' (known: {', '.join(known)})", "invalid_body")
        refusal = agency_refusal(call, body.agency)
        if refusal is not None:
            return error(409, f"call {call_id}: {refusal}")
        centre.post(call_id, ev.AgencyRequested(call_id, body.agency, request[USER].who))
        return web.json_response({"call_id": call_id, "agency": body.agency, "requested": True}, status=202)

    async def leave(request: web.Request) -> web.Response:
        call_id = request.match_info["call"]
        refusal = leave_refusal(live(call_id))
        if refusal is not None:
            return error(409, f"call {call_id}: {refusal}")
        centre.post(call_id, ev.TakerLeaveRequested(call_id, request[USER].who))
        return web.json_response({"call_id": call_id, "leaving": True}, status=202)

    async def recording(request: web.Request) -> web.StreamResponse:
        call_id = request.match_info["call"]
        if call_id in centre.calls():
            return error(409, f"call {call_id} is still going on: its recording is not finished")
        await stored_record(store, call_id)  # a call we know of (404 otherwise)
        try:
            audio = await centre.recording(call_id)
        except AriError as exc:
            if exc.status == 404:
                return error(404, f"call {call_id} has no recording")
            return error(502, f"Asterisk refused the recording: {exc}")
        except AriUnavailable as exc:
            return error(503, f"Asterisk unavailable: {exc}")
        headers = {"Content-Type": "audio/wav"}
        if request.query.get("download") == "1":
            headers["Content-Disposition"] = f'attachment; filename="112-{call_id}.wav"'
        return web.Response(body=audio, headers=headers)

    app.router.add_post("/api/v1/calls/{call}/agencies", agencies)
    app.router.add_post("/api/v1/calls/{call}/leave", leave)
    app.router.add_get("/api/v1/calls/{call}/recording", recording)
