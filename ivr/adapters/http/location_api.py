"""HTTP routes for callers' locations: the AML receiver (the operators' and SMS gateways'
deliveries) and a location typed in at the desk.

  POST /api/v1/aml       AML over HTTPS (ETSI TS 103 625): a form
                         (application/x-www-form-urlencoded) as Android's ELS posts it
  POST /api/v1/aml/sms   an AML SMS as a gateway hands it on: the text (text/plain), the
                         SMS's sender in ?from= (the caller's number)
  POST /api/v1/calls/{call}/location   body {"lat", "lon", "accuracy_m"?, "address"?}:
                         the call taker of the call (or a supervisor) places the caller

Rules:
- The AML routes take no user token: a sender proves itself with its own credentials
  (ivr/adapters/aml_senders.py: HTTP Basic name:secret, or a bearer secret); 401 without.
- A delivery is bounded (MAX_FORM / MAX_SMS bytes, 413 beyond, read no further), UTF-8
  (415 for another charset, 400 for bytes that are not), of its own media type (415),
  and every field is checked (ivr.core.aml_https / aml_sms): bad input gets a 400 naming
  the field, with the code invalid_body, and a log line; nothing a sender sends raises.
- A good delivery answers 200 {"accepted": true, "located": ..., "matched": ..., "ignored": [...]}:
  located false when the handset had no location, matched false when no call of that
  number is live yet (the fix is kept for the window: ivr/adapters/locations.py). The
  sender never learns a call's id.
- A desk location goes on a live call, or on an ended one's record (archived again).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from urllib.parse import parse_qsl, urlsplit

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from ivr.adapters.call_store import CallStore
from ivr.adapters.http.auth import USER
from ivr.adapters.http.centre import Centre
from ivr.adapters.http.replies import body, error, parsed, refusal, stored_record
from ivr.adapters.locations import Locating
from ivr.core import aml_https, aml_sms
from ivr.core.aml_fields import AmlMessage
from ivr.core.location import MAX_ACCURACY_M, MAX_ADDRESS, FixRefused, Method, Source, checked

log = logging.getLogger(__name__)

HTTPS_PATH, SMS_PATH = "/api/v1/aml", "/api/v1/aml/sms"
MAX_FORM = 8192  # bytes of an AML form (a full ELS message is about 1 KB)
MAX_SMS = 2048  # bytes of an AML SMS text (a few joined SMS at most)
FORM = "application/x-www-form-urlencoded"
UTF8 = frozenset({"utf-8", "utf8"})
SETTLE_SECONDS = 5.0  # an ended call's fix written before it is archived again, at most this long


class DeskLocation(BaseModel):
    """Where the caller is, as the call taker learned it."""

    model_config = ConfigDict(extra="forbid")
    lat: float = Field(ge=-90, le=90, description="Latitude, WGS84 degrees")
    lon: float = Field(ge=-180, le=180, description="Longitude, WGS84 degrees")
    accuracy_m: float | None = Field(default=None, ge=0, le=MAX_ACCURACY_M, description="Radius, metres")
    address: str | None = Field(default=None, max_length=MAX_ADDRESS)


def add_location_routes(
    app: web.Application,
    centre: Centre,
    store: CallStore,
    locating: Locating,
    clock: Callable[[], float] = time.time,
) -> None:
    book = locating.book

    def sender_of(request: web.Request) -> str:
        sender = locating.senders.who(request.headers.get("Authorization", ""))
        if sender is None:
            log.warning("AML delivery from %s refused: missing or wrong sender credentials", request.remote)
            why = (
                "no AML sender is configured"
                if not len(locating.senders)
                else "missing or wrong sender credentials"
            )
            raise refusal_401(f"{why} (HTTP Basic name:secret, or Authorization: Bearer <secret>)")
        return sender

    async def body_text(request: web.Request, sender: str, media: str, limit: int) -> str:
        if request.content_type != media:
            raise _refused(sender, 415, f"send the message as {media}, not '{request.content_type[:60]}'")
        charset = (request.charset or "utf-8").lower()
        if charset not in UTF8:
            raise _refused(sender, 415, f"charset '{charset[:40]}' refused, send UTF-8")
        if request.content_length is not None and request.content_length > limit:
            raise _refused(sender, 413, f"the message is larger than {limit} bytes")
        raw = await request.content.read(limit + 1)
        if len(raw) > limit:
            raise _refused(sender, 413, f"the message is larger than {limit} bytes")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _refused(sender, 400, f"the message is not UTF-8 (byte {exc.start})") from None

    async def delivered(message: AmlMessage, sender: str, kind: str) -> web.Response:
        matched = None
        if message.fix is not None:
            matched = await book.receive(message.key, message.fix)
        log.info(
            "AML %s from %s for ...%s: %s%s",
            kind,
            sender,
            message.key[-4:],
            "no location" if message.fix is None else f"call {matched}" if matched else "kept for its call",
            f" (ignored: {', '.join(message.ignored)})" if message.ignored else "",
        )
        reply = {
            "accepted": True,
            "located": message.fix is not None,
            "matched": matched is not None,
            "ignored": list(message.ignored),
        }
        return web.json_response(reply)

    async def aml_form(request: web.Request) -> web.Response:
        sender = sender_of(request)
        text = await body_text(request, sender, FORM, MAX_FORM)
        try:
            pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text), max_num_fields=100)
            message = aml_https.parse(pairs, sender, clock())
        except FixRefused as exc:
            raise _refused(sender, 400, str(exc), field=exc.field) from None
        except ValueError as exc:
            raise _refused(sender, 400, f"not a form: {exc}") from None
        return await delivered(message, sender, "https")

    async def aml_text(request: web.Request) -> web.Response:
        sender = sender_of(request)
        number = request.query.get("from", "")
        if not number:
            raise _refused(sender, 400, "from: missing (the SMS's sender, the caller's number)", field="from")
        text = await body_text(request, sender, "text/plain", MAX_SMS)
        try:
            message = aml_sms.parse(text, number, sender, clock())
        except FixRefused as exc:
            raise _refused(sender, 400, str(exc), field=exc.field) from None
        return await delivered(message, sender, "sms")

    async def by_hand(request: web.Request) -> web.Response:
        call_id = request.match_info["call"]
        given = await parsed(request, DeskLocation, "location")
        now = clock()
        who = request[USER].who
        try:
            fix = checked(
                given.lat,
                given.lon,
                given.accuracy_m,
                Source.DESK,
                Method.MANUAL,
                now,
                now,
                given.address,
                who,
            )
        except FixRefused as exc:
            return error(400, f"invalid location: {exc}", "invalid_body", problems=[str(exc)])
        if call_id in centre.calls():
            book.attach(call_id, fix)
        else:
            await stored_record(store, call_id)  # a call we know of (404, 503 otherwise)
            book.attach(call_id, fix, live=False)
            with contextlib.suppress(TimeoutError):  # Redis slow: the archive catches up later
                await asyncio.wait_for(book.settled(), SETTLE_SECONDS)
            await centre.archive_again(call_id)
        return web.json_response({"call_id": call_id, "location": fix.view()}, status=201)

    app.router.add_post(HTTPS_PATH, aml_form)
    app.router.add_post(SMS_PATH, aml_text)
    app.router.add_post("/api/v1/calls/{call}/location", by_hand)


def refusal_401(message: str) -> web.HTTPException:
    return web.HTTPUnauthorized(
        text=json.dumps(body(401, message)),
        content_type="application/json",
        headers={"WWW-Authenticate": 'Basic realm="aml"'},
    )


def _refused(sender: str, status: int, message: str, field: str | None = None) -> web.HTTPException:
    """The refusal of a delivery (logged): 400 invalid_body naming the field, 413, 415."""
    log.warning("AML delivery from %s refused (%d): %s", sender, status, message)
    if status == 413:
        text = json.dumps(body(413, message))
        return web.HTTPRequestEntityTooLarge(MAX_FORM, 0, text=text, content_type="application/json")
    extra = {"problems": [message], "field": field} if field else {}
    return refusal(status, message, "invalid_body" if status == 400 else None, **extra)


def tile_origins(tiles_url: str) -> tuple[str, ...]:
    """Where the desk's map loads its tiles from, for the page's Content-Security-Policy
    (a {s} subdomain placeholder: any subdomain); none without a tile server."""
    if not tiles_url:
        return ()
    parts = urlsplit(tiles_url)
    return (f"{parts.scheme}://{parts.netloc.replace('{s}', '*')}",)
