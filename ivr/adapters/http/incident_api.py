"""HTTP routes for a call's incident record: what happened, where, which agencies went and
when they arrived on scene.

  GET  /api/v1/calls/{call}/incident            {"call_id", "incident": {...} or null}
  PUT  /api/v1/calls/{call}/incident            body IncidentBody: type, address, kelurahan, notes, agencies
  POST /api/v1/calls/{call}/incident/arrivals   body {"agency": "damkar", "arrived_at": epoch (default now)}

Rules: who may write is the permission table's (auth.py: the call taker of the call, or a
supervisor); the rules of an incident are ivr.core.incident's, none restated here. Bad
input is a 400 invalid_body naming the field in `problems`: a body that does not fit the
model (replies.parsed), an agency that is not the centre's (named, with the known ones),
an arrival before the call or in the future; an arrival for a call without an incident is
a 409. A call that is live or ended alike (an ended call's archive row is written again);
each change is a timeline entry ("incident", "agency-arrived") and an event of the
calls' event stream; the writer is the signed-in user (User.who). A number the operator
marked private stays hidden from call takers in the replies (ivr.core.privacy).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from ivr.adapters.call_store import CallStore, IncidentChange, StoreUnavailable, first_at
from ivr.adapters.http.auth import USER, Role, User
from ivr.adapters.http.centre import Centre
from ivr.adapters.http.replies import error, parsed, refusal, stored_record
from ivr.core import incident, privacy
from ivr.core.commands import RecordTimeline
from ivr.core.incident import IncidentRefused, IncidentType

AgencyName = Annotated[str, StringConstraints(min_length=1, max_length=31)]


class IncidentBody(BaseModel):
    """A call's incident record, as the call taker writes it."""

    model_config = ConfigDict(extra="forbid")
    type: IncidentType
    address: str = Field("", max_length=incident.ADDRESS_MAX)
    kelurahan: str = Field("", max_length=incident.KELURAHAN_MAX)
    notes: str = Field("", max_length=incident.NOTES_MAX)
    agencies: list[AgencyName] | None = Field(
        None,
        max_length=incident.AGENCIES_MAX,
        description="The agencies dispatched without joining the call (those that joined are "
        "always listed); left out: unchanged",
    )

    @field_validator("address", "kelurahan")
    @classmethod
    def _one_line(cls, value: str) -> str:
        problem = incident.text_problem(value, incident.ADDRESS_MAX)
        if problem:
            raise ValueError(problem)
        return value.strip()

    @field_validator("notes")
    @classmethod
    def _lines(cls, value: str) -> str:
        problem = incident.text_problem(value, incident.NOTES_MAX, lines=True)
        if problem:
            raise ValueError(problem)
        return value.strip()


class ArrivalBody(BaseModel):
    """An agency on scene: which, and when (epoch seconds; left out: now)."""

    model_config = ConfigDict(extra="forbid")
    agency: AgencyName
    arrived_at: float | None = Field(None, gt=0, allow_inf_nan=False)


def _invalid(what: str, field: str, message: str) -> web.HTTPException:
    problem = f"{field}: {message}"
    return refusal(400, f"invalid {what}: {problem}", "invalid_body", problems=[problem])


def add_incident_routes(
    app: web.Application, centre: Centre, store: CallStore, clock: Callable[[], float] = time.time
) -> None:
    def known_agencies(names: list[str], what: str, field: str) -> None:
        known = [a.id for a in centre.config.agencies]
        unknown = incident.unknown_agencies(names, known)
        if unknown:
            raise _invalid(what, field, f"unknown agency '{unknown[0]}' (known: {', '.join(known)})")

    def reply(user: User, call_id: str, record: dict[str, Any], found: dict[str, Any] | None) -> web.Response:
        body = {"call_id": call_id, "incident": found}
        if user.roles == {Role.CALL_TAKER} and privacy.is_withheld(record):
            body = privacy.masked(body, str(record.get("caller", "")))
        return web.json_response(body)

    async def changed(call_id: str, at: float, entry: str, detail: dict[str, str]) -> None:
        centre.events().note(RecordTimeline(call_id, entry, at, detail))
        await centre.archive_again(call_id)  # an ended call's row follows (a live one: at its end)

    async def read(request: web.Request) -> web.Response:
        call_id = request.match_info["call"]
        record = await stored_record(store, call_id)
        return reply(request[USER], call_id, record, record.get("incident"))

    async def write(request: web.Request) -> web.Response:
        call_id = request.match_info["call"]
        body = await parsed(request, IncidentBody, "incident")
        if body.agencies is not None:
            known_agencies(body.agencies, "incident", "agencies")
        record = await stored_record(store, call_id)
        by, now = request[USER].who, clock()
        details: dict[str, str] = {}

        def edit(
            stored: dict[str, Any] | None, timeline: list[dict[str, Any]]
        ) -> tuple[dict[str, Any], str, dict[str, str]]:
            new, detail = incident.edited(
                stored, kind=body.type, address=body.address, kelurahan=body.kelurahan, notes=body.notes,
                agencies=body.agencies, timeline=timeline, by=by, now=now,
            )  # fmt: skip
            details.update(detail)
            return new, incident.ENTRY, detail

        found = await _change(store, call_id, now, edit)
        await changed(call_id, now, incident.ENTRY, details)
        return reply(request[USER], call_id, record, found)

    async def arrival(request: web.Request) -> web.Response:
        call_id = request.match_info["call"]
        body = await parsed(request, ArrivalBody, "arrival")
        known_agencies([body.agency], "arrival", "agency")
        now = clock()
        at = now if body.arrived_at is None else body.arrived_at
        live = centre.calls().get(call_id)
        if live is not None:  # known at once, Redis or not
            _check_arrival(at, live.arrived_at, now)
        record = await stored_record(store, call_id)
        began = first_at(record.get("timeline", []), "arrived")
        _check_arrival(at, float(record.get("arrived_at", began or 0.0)), now)
        by = request[USER].who
        details: dict[str, str] = {}

        def arrive(
            stored: dict[str, Any] | None, timeline: list[dict[str, Any]]
        ) -> tuple[dict[str, Any], str, dict[str, str]]:
            new, detail = incident.arrived(stored, body.agency, at, by, now)
            details.update(detail)
            return new, incident.ARRIVAL_ENTRY, detail

        try:
            found = await _change(store, call_id, now, arrive)
        except IncidentRefused as exc:
            return error(409, f"call {call_id}: {exc}")
        await changed(call_id, now, incident.ARRIVAL_ENTRY, details)
        return reply(request[USER], call_id, record, found)

    app.router.add_get("/api/v1/calls/{call}/incident", read)
    app.router.add_put("/api/v1/calls/{call}/incident", write)
    app.router.add_post("/api/v1/calls/{call}/incident/arrivals", arrival)


def _check_arrival(at: float, call_arrived_at: float, now: float) -> None:
    problem = incident.arrival_refusal(at, call_arrived_at, now)
    if problem is not None:
        raise _invalid("arrival", "arrived_at", problem)


async def _change(store: CallStore, call_id: str, now: float, change: IncidentChange) -> dict[str, Any]:
    try:
        found = await store.change_incident(call_id, now, change)
    except StoreUnavailable as exc:
        raise refusal(503, f"call records unavailable: {exc}") from None
    if found is None:
        raise refusal(404, f"no call '{call_id}'")
    return found
