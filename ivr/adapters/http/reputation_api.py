"""HTTP routes for what call takers say about calls and what it does to a number.

Rules: a disposition is stored on the call and counted for its number (audited); a
time-limited block exists only when the centre enables blocking: otherwise the block
routes answer 409 and nothing is blocked. Every block has an expiry no longer than
max_minutes; blocks and unblocks are audited with who and why. With automatic blocking
configured, the disposition that reaches after_prank_reports prank verdicts blocks the
number for `minutes`, by "system". Who disposed, blocked or unblocked is always the
signed-in user (User.who), never a name from the body (a "by" in it is ignored).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from pydantic import BaseModel, Field

from ivr.adapters.call_store import CallStore, StoreUnavailable
from ivr.adapters.http.auth import USER
from ivr.adapters.http.replies import error, parsed
from ivr.adapters.reputation_store import Disposition, ReputationStore
from ivr.config.schema import CentreConfig


class DispositionBody(BaseModel):
    disposition: Disposition


class BlockBody(BaseModel):
    minutes: float = Field(gt=0)
    reason: str = Field(min_length=3, max_length=200)


def add_reputation_routes(
    app: web.Application,
    config: Callable[[], CentreConfig],
    store: CallStore,
    reputation: ReputationStore,
    clock: Callable[[], float],
    changed: Callable[[str], Awaitable[None]] | None = None,
) -> None:
    async def disposition(request: web.Request) -> web.Response:
        call_id = request.match_info["call"]
        body = await parsed(request, DispositionBody, "disposition")
        try:
            record = await store.get(call_id)
            if record is None:
                return error(404, f"no call '{call_id}'")
            now = clock()
            number = record.get("caller", "")
            by = request[USER].who
            previous = await reputation.record(number, call_id, body.disposition, by, now)
            await store.append(
                call_id,
                "disposition",
                now,
                {"disposition": body.disposition.value, "disposition_by": by},
            )
            blocked_until = await auto_block(number, now) if body.disposition is Disposition.PRANK else None
        except StoreUnavailable as exc:
            return error(503, f"call records unavailable: {exc}")
        if changed is not None:
            await changed(call_id)  # the archived record follows
        reply = {"call_id": call_id, "disposition": body.disposition.value, "replaced": previous}
        return web.json_response({**reply, "blocked_until": blocked_until})

    async def auto_block(number: str, now: float) -> float | None:
        rules = config().screening.block
        if not (rules.enabled and rules.after_prank_reports and number):
            return None
        found = await reputation.reputation(number, now)
        if found.blocked_until is not None or found.prank < rules.after_prank_reports:
            return None
        reason = f"{found.prank} prank verdicts within the window"
        return await reputation.block(number, rules.minutes, "system", reason, now)

    async def number_reputation(request: web.Request) -> web.Response:
        try:
            found = await reputation.reputation(request.match_info["number"], clock())
        except StoreUnavailable as exc:
            return error(503, f"reputation unavailable: {exc}")
        return web.json_response(
            {"number": found.number, "counts": found.counts, "blocked_until": found.blocked_until}
        )

    async def block(request: web.Request) -> web.Response:
        rules = config().screening.block
        if not rules.enabled:
            return error(409, "blocking is off in this centre's configuration (screening.block.enabled)")
        body = await parsed(request, BlockBody, "block")
        if body.minutes > rules.max_minutes:
            most = f"minutes: at most {rules.max_minutes:g} (screening.block.max_minutes)"
            return error(400, most, "invalid_body")
        number = request.match_info["number"]
        try:
            until = await reputation.block(number, body.minutes, request[USER].who, body.reason, clock())
        except StoreUnavailable as exc:
            return error(503, f"reputation unavailable: {exc}")
        return web.json_response({"number": number, "blocked_until": until})

    async def unblock(request: web.Request) -> web.Response:
        number = request.match_info["number"]
        try:
            lifted = await reputation.unblock(number, request[USER].who, clock())
        except StoreUnavailable as exc:
            return error(503, f"reputation unavailable: {exc}")
        if not lifted:
            return error(404, f"{number} is not blocked")
        return web.json_response({"number": number, "blocked_until": None})

    async def block_audit(request: web.Request) -> web.Response:
        try:
            return web.json_response(await reputation.block_audit())
        except StoreUnavailable as exc:
            return error(503, f"reputation unavailable: {exc}")

    app.router.add_post("/api/v1/calls/{call}/disposition", disposition)
    app.router.add_get("/api/v1/reputation/{number}", number_reputation)
    app.router.add_post("/api/v1/reputation/{number}/block", block)
    app.router.add_delete("/api/v1/reputation/{number}/block", unblock)
    app.router.add_get("/api/v1/blocks/audit", block_audit)
