"""What each operation of the API answers, as its OpenAPI document states it: the success
status and media type, and every error status the route can return, each with the one
error body of the API (ErrorBody: replies.body's {"error": ..., "code": ..., ...}).

Rules: a status is listed only when the route can return it. 401 comes with every route
behind the bearer token (a sender's own credentials on the AML routes); 403 when the
permission table refuses some role, or limits a call taker to the taker or call named in
the path (read from auth.scope, not restated);
400, 413 and 415 with every route that reads a body (replies.parsed); the handler's own
statuses are HANDLED, written from reading each handler (health's 503 carries the health
document, not the error body). A route served at another path (auth.ALIASES: a former
path, /api/health) answers exactly as the route it stands for.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from ivr.adapters.http.auth import ALIASES, IN_BAND, RULES, Role, Scope, User, scope
from ivr.adapters.http.replies import Code

Route = tuple[str, str]
JSON = "application/json"


class ErrorBody(BaseModel):
    """The body of every error reply of the API."""

    error: str = Field(description="What was wrong, in a sentence")
    code: Code = Field(
        description="What kind of error, for a program: a stable set (bad_parameter and invalid_body "
        "are the 400s of a query parameter and of the body; the others follow the status)"
    )
    parameter: str | None = Field(
        default=None, description="The query parameter that was wrong (bad_parameter)"
    )
    problems: list[str] = Field(
        default=[], description="Each problem found: an invalid body (400), a refused configuration (422)"
    )


# route -> (status, media type or None for no body, description); any other: 200, JSON.
SUCCESS: dict[Route, tuple[int, str | None, str]] = {
    ("POST", "/api/v1/calls/{call}/agencies"): (202, JSON, "asked; the outcome shows in the call's timeline"),
    ("POST", "/api/v1/calls/{call}/leave"): (202, JSON, "asked; the outcome shows in the call's timeline"),
    ("POST", "/api/v1/callbacks/{call}"): (202, JSON, "started: the call taker's phone rings first"),
    ("GET", "/api/v1/calls/{call}/recording"): (200, "audio/wav", "the recording"),
    ("GET", "/api/v1/history.csv"): (200, "text/csv", "the calls, a header row first (an attachment)"),
    ("GET", "/metrics"): (200, "text/plain", "the metrics, in the Prometheus text format"),
    ("GET", "/api/v1/live"): (101, None, "the WebSocket feed is open"),
    ("GET", "/api/v1/events"): (200, "text/event-stream", "the stream: replayed events, then live ones"),
    ("GET", "/"): (302, None, "to /dashboard/"),
    ("GET", "/dashboard/"): (200, "text/html", "the dashboard's page"),
    ("POST", "/api/v1/calls/{call}/location"): (201, JSON, "the fix, on the call's record and desk"),
    ("POST", "/api/v1/aml"): (200, JSON, "accepted: located (the handset had a fix), matched (a live call)"),
    ("POST", "/api/v1/aml/sms"): (
        200,
        JSON,
        "accepted: located (the handset had a fix), matched (a live call)",
    ),
}
NO_RECORDS = "call records unavailable (Redis)"
NO_REPUTATION = "reputations unavailable (Redis)"
NO_ARCHIVE = "no call archive in this control plane"
NO_TAKER = {404: "no such call taker"}
AML_REFUSALS = {
    400: "a field that is wrong or missing (field and problems name it), or bytes that are not UTF-8",
    413: "the message is larger than the route's limit",
    415: "another media type or charset",
}
HANDLED: dict[Route, dict[int, str]] = {  # the statuses each handler itself returns
    ("POST", "/api/v1/takers/{taker}/login"): NO_TAKER,
    ("POST", "/api/v1/takers/{taker}/logout"): NO_TAKER,
    ("POST", "/api/v1/takers/{taker}/pause"): NO_TAKER,
    ("POST", "/api/v1/takers/{taker}/unpause"): NO_TAKER,
    ("POST", "/api/v1/config/reload"): {
        422: "the file is refused (problems lists why); the running one stays",
    },
    ("GET", "/api/v1/calls/{call}"): {404: "no such call", 503: NO_RECORDS},
    ("POST", "/api/v1/calls/{call}/disposition"): {404: "no such call", 503: NO_RECORDS},
    ("POST", "/api/v1/calls/{call}/agencies"): {
        400: "an unknown agency (the message names the known ones)",
        404: "no such live call",
        409: "the call cannot take this agency now (the message says why)",
    },
    ("POST", "/api/v1/calls/{call}/leave"): {
        404: "no such live call",
        409: "the call taker cannot leave this call now (the message says why)",
    },
    ("GET", "/api/v1/calls/{call}/recording"): {
        404: "no such call, or it has no recording",
        409: "the call is still going on",
        502: "Asterisk refused the recording",
        503: "call records or Asterisk unavailable",
    },
    ("GET", "/api/v1/calls/{call}/incident"): {404: "no such call", 503: NO_RECORDS},
    ("PUT", "/api/v1/calls/{call}/incident"): {
        400: "an unknown agency (problems names it and the known ones)",
        404: "no such call",
        503: NO_RECORDS,
    },
    ("POST", "/api/v1/calls/{call}/incident/arrivals"): {
        400: "an unknown agency, or a time before the call or in the future (problems names the field)",
        404: "no such call",
        409: "the call has no incident record yet",
        503: NO_RECORDS,
    },
    ("POST", "/api/v1/calls/{call}/location"): {404: "no such call", 503: NO_RECORDS},
    ("POST", "/api/v1/aml"): AML_REFUSALS,
    ("POST", "/api/v1/aml/sms"): {
        **AML_REFUSALS,
        400: AML_REFUSALS[400] + ", or no ?from= (the SMS's sender)",
    },
    ("GET", "/api/v1/reputation/{number}"): {503: NO_REPUTATION},
    ("POST", "/api/v1/reputation/{number}/block"): {
        400: "minutes over screening.block.max_minutes",
        409: "blocking is off in this centre's configuration",
        503: NO_REPUTATION,
    },
    ("DELETE", "/api/v1/reputation/{number}/block"): {404: "the number is not blocked", 503: NO_REPUTATION},
    ("GET", "/api/v1/blocks/audit"): {503: NO_REPUTATION},
    ("GET", "/api/v1/history"): {400: "a bad day, limit or cursor (parameter names it)", 503: NO_ARCHIVE},
    ("GET", "/api/v1/history.csv"): {
        400: "a bad day, a range backwards or over 31 days (parameter names which)",
        503: NO_ARCHIVE,
    },
    ("GET", "/api/v1/kpis"): {400: "a bad day", 503: NO_ARCHIVE},
    ("GET", "/api/v1/events"): {400: "Last-Event-ID or after is not a cursor of this stream"},
    ("GET", "/api/v1/callbacks"): {503: NO_ARCHIVE},
    ("POST", "/api/v1/callbacks/{call}"): {
        400: "no such call taker",
        404: "no such call",
        409: "nothing to call back, a callback to the number going on, or the call taker not free",
        503: NO_RECORDS,
    },
    ("GET", "/api/v1/health"): {
        503: "down: callers would not reach a call taker through this control plane (the body is the "
        "health document, its parts say which is down)",
    },
    ("GET", "/api/v1/live"): {
        400: "not a WebSocket request",
        403: "asked from a page of another origin (Origin)",
    },
}
HEALTH_BODY = {("GET", "/api/v1/health")}  # its error status answers the health document, not ErrorBody
BODY = {
    400: "the body is not UTF-8 JSON fitting the schema (problems lists what is wrong)",
    413: "the body is larger than the app's limit",
    415: "a charset other than UTF-8",
}
ONE_OF_EACH_ROLE = tuple(
    User(role.value, frozenset({role}), "taker01" if role is Role.CALL_TAKER else None) for role in Role
)


def _refusals(method: str, path: str) -> list[str]:
    """Why the authenticator may answer 403 on this route (none: it never does)."""
    grants = [scope(user, method, path) for user in ONE_OF_EACH_ROLE]
    why = ["this user's role may not do this"] if None in grants else []
    if Scope.OWN in grants and ("{taker}" in path or "{call}" in path):
        why.append("a call taker may act only on themselves and their own calls")
    return why


def _errors(route: Route, reads_body: bool) -> dict[int, list[str]]:
    codes: dict[int, list[str]] = {}
    if reads_body:
        for status, text in BODY.items():
            codes.setdefault(status, []).append(text)
    if RULES.get(route) == "sender":  # a sender's own credentials, no user
        codes.setdefault(401, []).append("missing or wrong sender credentials")
    elif route in RULES and route[1] not in IN_BAND:  # behind the bearer token
        codes.setdefault(401, []).append("missing or wrong token")
        if why := _refusals(*route):
            codes.setdefault(403, []).extend(why)
    for status, text in HANDLED.get(route, {}).items():
        codes.setdefault(status, []).append(text)
    return codes


def responses(method: str, path: str, reads_body: bool, error_ref: str) -> dict[str, Any]:
    """The OpenAPI responses object of an operation; error bodies refer to `error_ref`."""
    route = ALIASES.get((method, path), (method, path))
    status, media, description = SUCCESS.get(route, (200, JSON, "done"))
    success: dict[str, Any] = {"description": description}
    if media is not None:
        success["content"] = {media: {}}
    reply = {str(status): success}
    for code, texts in sorted(_errors(route, reads_body).items()):
        error: dict[str, Any] = (
            {JSON: {}} if route in HEALTH_BODY else {JSON: {"schema": {"$ref": error_ref}}}
        )
        reply[str(code)] = {"description": "; or ".join(texts), "content": error}
    return reply
