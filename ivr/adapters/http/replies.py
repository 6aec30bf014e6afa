"""Error replies of the HTTP API: a status and a message naming what was wrong.

Rules: a reply is JSON {"error": message, ...}; handlers either return error(...) or
raise refusal(...) from a helper (parsed() for bodies), which aiohttp turns into the
same reply.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from ivr.adapters.call_store import CallStore, StoreUnavailable
from ivr.core.call_state import WITHHELD

ModelT = TypeVar("ModelT", bound=BaseModel)
REFUSALS: dict[int, type[web.HTTPException]] = {
    400: web.HTTPBadRequest,
    404: web.HTTPNotFound,
    409: web.HTTPConflict,
    503: web.HTTPServiceUnavailable,
}


def error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


def problems(exc: ValidationError) -> list[str]:
    return [f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()]


def refusal(status: int, message: str, **extra: Any) -> web.HTTPException:
    body = json.dumps({"error": message, **extra})
    return REFUSALS[status](text=body, content_type="application/json")


async def parsed(request: web.Request, model: type[ModelT], what: str) -> ModelT:
    """The request's JSON body as `model`, or a 400 naming every problem."""
    try:
        return model.model_validate_json(await request.text() or "{}")
    except ValidationError as exc:
        raise refusal(400, f"invalid {what}", problems=problems(exc)) from None


def as_call_takers_see(record: dict[str, Any]) -> dict[str, Any]:
    """A record whose number the operator marked private, with the number hidden."""
    if not record.get("withheld"):
        return record
    timeline = [{**e, "caller": WITHHELD} if "caller" in e else e for e in record.get("timeline", [])]
    return {**record, "caller": WITHHELD, "timeline": timeline}


async def stored_record(store: CallStore, call_id: str) -> dict[str, Any]:
    """A call's record, or a 503 (records unavailable) or 404 (no such call)."""
    try:
        record = await store.get(call_id)
    except StoreUnavailable as exc:
        raise refusal(503, f"call records unavailable: {exc}") from None
    if record is None:
        raise refusal(404, f"no call '{call_id}'")
    return record
