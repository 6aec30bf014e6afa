"""Error replies of the HTTP API: a status, a machine-readable code and a message naming
what was wrong.

Rules: a reply is JSON {"error": message, "code": code, ...}; body() is the one place
it is built. Handlers either return error(...) or raise refusal(...) from a helper
(parsed() for bodies, bad_parameter() for a query parameter, which names it in
"parameter" too), which aiohttp turns into the same reply; json_errors (the app's outer
middleware) gives aiohttp's own refusals (no such route, a method the route does not
take) the same body. The code follows the status (CODES) but for two kinds of 400:
invalid_body (the request's body) and bad_parameter (a query parameter). Codes are a
stable set (Code, in the OpenAPI document's ErrorBody): a client may branch on them.
A request body is JSON in UTF-8 (RFC 8259): another declared charset is refused (415),
bytes that are not UTF-8 or JSON that does not fit the model get 400, a body over the
app's size limit 413; whatever a body holds, never a 500.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar, get_args

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
Code = Literal[
    "bad_request", "bad_parameter", "invalid_body", "unauthorized", "forbidden", "not_found",
    "method_not_allowed", "conflict", "too_large", "unsupported_media_type", "invalid_config",
    "upstream_error", "unavailable",
]  # fmt: skip
CODES: dict[int, Code] = {
    400: "bad_request",
    401: "unauthorized",  # no token, or a wrong one
    403: "forbidden",  # the user's role may not do this
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",  # the state of things does not allow it now
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_config",  # a configuration refused
    502: "upstream_error",  # Asterisk refused
    503: "unavailable",  # Redis, the archive or Asterisk out of reach
}
ALL_CODES: tuple[str, ...] = get_args(Code)


def body(status: int, message: str, code: Code | None = None, **extra: Any) -> dict[str, Any]:
    """The error body of a reply; the code is the status's unless given."""
    fallback: Code = "bad_request" if status < 500 else "unavailable"
    return {"error": message, "code": code or CODES.get(status, fallback), **extra}


def error(status: int, message: str, code: Code | None = None, **extra: Any) -> web.Response:
    return web.json_response(body(status, message, code, **extra), status=status)


def problems(exc: ValidationError) -> list[str]:
    return [f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()]


def refusal(status: int, message: str, code: Code | None = None, **extra: Any) -> web.HTTPException:
    text = json.dumps(body(status, message, code, **extra))
    return REFUSALS[status](text=text, content_type="application/json")


def bad_parameter(name: str, message: str) -> web.HTTPException:
    """A 400 for query parameter `name`: the message starts with it, "parameter" names it."""
    return refusal(400, f"{name}: {message}", "bad_parameter", parameter=name)


@web.middleware
async def json_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """aiohttp's own refusals (no such route, a method the route does not take, a body over
    the size limit) answered with the API's error body, like every other error."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/json":
            raise
        reply = error(exc.status, f"{exc.reason}: {request.method} {request.path[:200]}")
        if "Allow" in exc.headers:
            reply.headers["Allow"] = exc.headers["Allow"]
        return reply


async def parsed(request: web.Request, model: type[ModelT], what: str) -> ModelT:
    """The request's JSON body as `model`, or a 4xx naming what is wrong with it."""
    charset = (request.charset or "utf-8").lower()
    if charset not in UTF8:
        raise refusal(415, f"invalid {what}: charset '{charset[:40]}' refused, send the JSON body as UTF-8")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        limit = request.client_max_size
        message = json.dumps(body(413, f"invalid {what}: the body is larger than {limit} bytes"))
        raise web.HTTPRequestEntityTooLarge(limit, text=message, content_type="application/json") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise refusal(
            400, f"invalid {what}: the body is not UTF-8 (byte {exc.start})", "invalid_body"
        ) from None
    try:
        return model.model_validate_json(text or "{}")
    except ValidationError as exc:
        raise refusal(400, f"invalid {what}", "invalid_body", problems=problems(exc)) from None


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
