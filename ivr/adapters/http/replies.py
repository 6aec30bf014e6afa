"""Error replies of the HTTP API: a status and a message naming what was wrong.

Rules: a reply is JSON {"error": message, ...}; handlers either return error(...) or
raise refusal(...) from a helper (parsed() for bodies), which aiohttp turns into the
same reply. A request body is JSON in UTF-8 (RFC 8259): another declared charset is
refused (415), bytes that are not UTF-8 or JSON that does not fit the model get 400,
a body over the app's size limit 413; whatever a body holds, never a 500.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from ivr.adapters.call_store import CallStore, StoreUnavailable
from ivr.core import privacy

ModelT = TypeVar("ModelT", bound=BaseModel)
REFUSALS: dict[int, type[web.HTTPException]] = {
    400: web.HTTPBadRequest,
    404: web.HTTPNotFound,
    409: web.HTTPConflict,
    415: web.HTTPUnsupportedMediaType,
    503: web.HTTPServiceUnavailable,
}
UTF8 = frozenset({"utf-8", "utf8"})


def error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


def problems(exc: ValidationError) -> list[str]:
    return [f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()]


def refusal(status: int, message: str, **extra: Any) -> web.HTTPException:
    body = json.dumps({"error": message, **extra})
    return REFUSALS[status](text=body, content_type="application/json")


async def parsed(request: web.Request, model: type[ModelT], what: str) -> ModelT:
    """The request's JSON body as `model`, or a 4xx naming what is wrong with it."""
    charset = (request.charset or "utf-8").lower()
    if charset not in UTF8:
        raise refusal(415, f"invalid {what}: charset '{charset[:40]}' refused, send the JSON body as UTF-8")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        limit = request.client_max_size
        message = json.dumps({"error": f"invalid {what}: the body is larger than {limit} bytes"})
        raise web.HTTPRequestEntityTooLarge(limit, text=message, content_type="application/json") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise refusal(400, f"invalid {what}: the body is not UTF-8 (byte {exc.start})") from None
    try:
        return model.model_validate_json(text or "{}")
    except ValidationError as exc:
        raise refusal(400, f"invalid {what}", problems=problems(exc)) from None


def as_call_takers_see(record: dict[str, Any]) -> dict[str, Any]:
    """A record whose number the operator marked private, with the number hidden in every
    field and timeline entry (the rule of ivr.core.privacy)."""
    return privacy.as_call_takers_see(record)


async def stored_record(store: CallStore, call_id: str) -> dict[str, Any]:
    """A call's record, or a 503 (records unavailable) or 404 (no such call)."""
    try:
        record = await store.get(call_id)
    except StoreUnavailable as exc:
        raise refusal(503, f"call records unavailable: {exc}") from None
    if record is None:
        raise refusal(404, f"no call '{call_id}'")
    return record
