"""HTTP API: call takers' status, the waiting list, configuration reload, call records.

Rules: every request but /api/health needs `Authorization: Bearer <token>` of a user
(IVR_API_TOKEN or IVR_USERS_FILE; roles and what each may do: auth.py);
wrong input gets a 4xx with a message naming what was wrong, never a 500 (bodies are
UTF-8 JSON: replies.parsed()); who did something is the signed-in user, never a name in
the body (a "by" sent by older clients is ignored); every response carries the
browser security headers (headers.py); changes go
through the ACD exactly like feature codes from a phone; a configuration that does not
validate is refused (422, every problem listed) and the running one stays; an error
reply is {"error": message, "code": code} (replies.py).

Each /api/ route below is served at /api/v1/... (the documented path) and, for one
release, at the path written here; /api/health and /api/openapi.json at both for good
(versions.py). /api/v1/history.csv, /api/v1/events and the incident routes are new in v1.

  GET  /api/health                      liveness, ARI, alarms, last hand-over (no token; health.py)
  GET  /api/openapi.json                this API's OpenAPI document (no token)
  GET  /api/takers                      every call taker: declared status, activity, reachability
  POST /api/takers/{id}/login|logout|unpause
  POST /api/takers/{id}/pause           body {"reason": "..."}
  GET  /api/queue                       waiting callers, best placed first, with screening verdicts
  GET  /api/screening                   screenings running: RTP ports and recognizers in use
  POST /api/config/reload               re-read the centre configuration file
  GET  /api/calls/{id}                  a call's record and timeline
  POST /api/calls/{id}/disposition      body {"disposition": "genuine|prank|silent|information"}
  GET  /api/reputation/{number}         dispositions within the window, and any block
  POST /api/reputation/{number}/block   body {"minutes": 60, "reason": "..."} (if enabled)
  DELETE /api/reputation/{number}/block lift a block
  GET  /api/blocks/audit                every block and unblock, newest last
  POST /api/calls/{id}/agencies         body {"agency": "damkar"}: bring an agency in
  POST /api/calls/{id}/leave            the taker leaves caller and agencies
  GET  /api/calls/{id}/recording        the call's recording (WAV), once the call has ended
  POST /api/v1/calls/{id}/location      body {"lat", "lon", "accuracy_m"?, "address"?}: the caller's place
  POST /api/v1/aml, /api/v1/aml/sms     callers' locations from operators and SMS gateways (AML; their
                                        own credentials, no user token: location_api.py)
  GET|PUT /api/v1/calls/{id}/incident   the call's incident record (incident_api.py)
  POST /api/v1/calls/{id}/incident/arrivals  body {"agency": "damkar"}: the agency arrived on scene
  GET  /api/history?day=YYYY-MM-DD      finished calls of a day (archive), filters outcome, caller, limit,
                                        in pages (cursor=next of the page before)
  GET  /api/v1/history.csv?from=&to=    the same as a CSV file, for a day or up to 31 days (history_csv.py)
  GET  /api/kpis?day=YYYY-MM-DD         the day's key figures (service levels, abandon rate, ...)
  GET  /api/service-level               each service-level tier over the last window against its target
  GET  /metrics                         Prometheus metrics
  GET  /api/callbacks                   abandoned callers to call back (callback_api.py)
  POST /api/callbacks/{id}              body {"taker": "taker03"}: call the caller back with that taker
  GET  /api/live                        the dashboard's live feed (WebSocket; dashboard.py)
  GET  /api/v1/events                   calls' events for other systems (Server-Sent Events; event_stream.py)
  GET  /dashboard/                      the dashboard (static files, no secrets; token asked in the page)
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field

from ivr.adapters.call_store import CallStore, StoreUnavailable
from ivr.adapters.http.auth import ALIASES, SCOPE, USER, Role, Scope, User, authenticator, user_finder
from ivr.adapters.http.callback_api import CallbackBody, add_callback_routes
from ivr.adapters.http.centre import Centre
from ivr.adapters.http.dashboard import add_dashboard_routes
from ivr.adapters.http.event_stream import add_event_stream_route
from ivr.adapters.http.headers import add_security_headers
from ivr.adapters.http.health import add_health_route
from ivr.adapters.http.history_api import add_history_routes
from ivr.adapters.http.history_csv import add_history_export
from ivr.adapters.http.incident_api import ArrivalBody, IncidentBody, add_incident_routes
from ivr.adapters.http.live_call_api import AgencyBody, add_live_call_routes
from ivr.adapters.http.location_api import DeskLocation, add_location_routes, tile_origins
from ivr.adapters.http.openapi import document
from ivr.adapters.http.replies import as_call_takers_see, json_errors, parsed, refusal, stored_record
from ivr.adapters.http.replies import error as _error
from ivr.adapters.http.reputation_api import BlockBody, DispositionBody, add_reputation_routes
from ivr.adapters.http.versions import add_aliases
from ivr.adapters.http.views import taker_views, waiting_views
from ivr.adapters.locations import CallLocations, Locating
from ivr.adapters.reputation_store import ReputationStore
from ivr.adapters.write_behind import WriteBehind
from ivr.config.loader import ConfigInvalid
from ivr.core.acd import events as acd

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class PauseBody(BaseModel):
    reason: str = Field(min_length=1, max_length=60)


def build_api(
    centre: Centre,
    store: CallStore,
    reputation: ReputationStore,
    users: dict[str, User],
    reload: Callable[[], Awaitable[dict[str, Any]]],
    clock: Callable[[], float] = time.time,
    timezone: str = "Asia/Makassar",
    watchdog_status: Path | None = None,
    locating: Locating | None = None,
) -> web.Application:
    if locating is None:  # no AML senders, no map; fixes written through a queue of their own
        locating = Locating(CallLocations(store, WriteBehind(), centre.events(), centre.calls))

    async def taker_of_call(call_id: str) -> str | None:
        call = centre.calls().get(call_id)
        if call is not None:
            return call.taker
        try:
            record = await store.get(call_id)
        except StoreUnavailable:
            return None
        return record.get("taker") if record else None

    def taker_view(taker_id: str) -> dict[str, Any]:
        return taker_views(centre, taker_id)[0]

    async def takers(request: web.Request) -> web.Response:
        user: User = request[USER]
        everyone = request[SCOPE] is Scope.ALL  # else a call taker: only themselves
        return web.json_response(taker_views(centre, None if everyone else user.taker or ""))

    def known_taker(request: web.Request) -> str:
        taker_id = request.match_info["taker"]
        if taker_id not in centre.takers():
            raise refusal(404, f"no call taker '{taker_id}'")
        return taker_id

    def simple(make: Callable[[str], acd.AcdEvent]) -> Handler:
        async def change(request: web.Request) -> web.Response:
            taker_id = known_taker(request)
            centre.to_acd(make(taker_id))
            return web.json_response(taker_view(taker_id))

        return change

    async def pause(request: web.Request) -> web.Response:
        taker_id = known_taker(request)
        body = await parsed(request, PauseBody, "pause request")
        centre.to_acd(acd.TakerPaused(taker_id, body.reason))
        return web.json_response(taker_view(taker_id))

    async def queue(request: web.Request) -> web.Response:
        return web.json_response(waiting_views(centre, clock(), locating.book.has_location))

    async def screening(request: web.Request) -> web.Response:
        return web.json_response(centre.screening())

    async def reload_config(request: web.Request) -> web.Response:
        try:
            return web.json_response(await reload())
        except ConfigInvalid as exc:
            refused = "configuration refused; the running one stays"
            return _error(422, refused, problems=[str(p) for p in exc.problems])

    async def call_record(request: web.Request) -> web.Response:
        record = await stored_record(store, request.match_info["call"])
        user: User = request[USER]
        if user.roles == {Role.CALL_TAKER}:  # a private number stays hidden from call takers
            record = as_call_takers_see(record)
        return web.json_response(record)

    app = web.Application(middlewares=[json_errors, authenticator(users, taker_of_call)])
    add_security_headers(app, tile_origins(locating.tiles_url))
    add_health_route(app, centre, timezone, watchdog_status, clock)
    app.router.add_get("/api/v1/takers", takers)
    app.router.add_post("/api/v1/takers/{taker}/login", simple(acd.TakerLoggedIn))
    app.router.add_post("/api/v1/takers/{taker}/logout", simple(acd.TakerLoggedOut))
    app.router.add_post("/api/v1/takers/{taker}/unpause", simple(acd.TakerUnpaused))
    app.router.add_post("/api/v1/takers/{taker}/pause", pause)
    app.router.add_get("/api/v1/queue", queue)
    app.router.add_get("/api/v1/screening", screening)
    app.router.add_post("/api/v1/config/reload", reload_config)
    app.router.add_get("/api/v1/calls/{call}", call_record)
    add_reputation_routes(app, lambda: centre.config, store, reputation, clock, centre.archive_again)
    add_live_call_routes(app, centre, store)
    add_incident_routes(app, centre, store, clock)
    add_location_routes(app, centre, store, locating, clock)
    add_history_routes(app, centre, timezone)
    add_history_export(app, centre, timezone)
    add_callback_routes(app, centre, store, reputation, clock)
    add_dashboard_routes(app, centre, store, reputation, user_finder(users), timezone, locating)
    add_event_stream_route(app, centre)
    spec = document(
        {
            ("POST", "/api/v1/takers/{taker}/pause"): PauseBody,
            ("POST", "/api/v1/calls/{call}/disposition"): DispositionBody,
            ("POST", "/api/v1/calls/{call}/agencies"): AgencyBody,
            ("PUT", "/api/v1/calls/{call}/incident"): IncidentBody,
            ("POST", "/api/v1/calls/{call}/incident/arrivals"): ArrivalBody,
            ("POST", "/api/v1/callbacks/{call}"): CallbackBody,
            ("POST", "/api/v1/calls/{call}/location"): DeskLocation,
            ("POST", "/api/v1/reputation/{number}/block"): BlockBody,
        }
    )

    async def openapi(request: web.Request) -> web.Response:
        return web.json_response(spec)

    app.router.add_get("/api/v1/openapi.json", openapi)
    add_aliases(app, ALIASES)  # the paths from before v1, and /api/health kept as it is
    return app
