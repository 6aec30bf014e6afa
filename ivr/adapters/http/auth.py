"""Who is asking, and what they may do: users, roles and the permission table of the API.

Roles (RULES below is the table; the REST routes and the dashboard's feed both obey it):
- call-taker: their own status (login, pause, ...) and their own calls (record,
  disposition, agencies, leaving, recording, incident record); the callback list. A caller's reputation
  reaches them only on their desk (the feed's "my call"), not through REST.
- supervisor: everything live and in the history, reputations and blocks; metrics.
- engineer: the configuration (reload, engineers only), every call taker's status and
  phone, screening status and metrics; no caller's number, no call, no key figure.
- supervisors and engineers: the calls' event stream for other systems (event_stream.py;
  callers' numbers in it only for those who may read call records).
- senders of callers' locations (AML: operators, SMS gateways) are no users: the rule
  "sender" routes them past the user token to the handler, which checks the sender's
  own credentials (ivr/adapters/aml_senders.py).
The token in IVR_API_TOKEN is the operators' own key, with every role (tools, tests).

Rules:
- Users come from IVR_USERS_FILE (YAML): name, role, the taker of a call taker, and the
  SHA-256 of their token (the token itself is never stored); `python -m ivr users hash`
  prints the hash of a token (and refuses a weak one). The file is read with the bounds
  of the centre file (no aliases, size, depth) and validated at start; a
  bad file stops the app with every problem named, a weak token (ivr/secret_rules.py)
  too outside development mode.
- Every request but /api/health, /api/openapi.json (at /api/v1/ too) and the dashboard's
  static page must authenticate (401 otherwise; the dashboard's feed /api/live with its
  first message); a route not in the permission table is refused (403): nothing is open
  by omission. scope() is the one reading of the table: ALL of a route's data, only the
  user's OWN (a call taker: "own" is checked against the live call, or its record, and
  the taker in the path), or nothing.
  The feed (snapshot.py) includes a part only when scope() grants its REST route.
- Whoever submits something is who the audit names (User.who): a call taker's taker id,
  else the user's name ("operator" for the operators' key); never a name from the body.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import yaml
from aiohttp import web
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from ivr.adapters.http.replies import error
from ivr.adapters.http.versions import KEPT, former_routes, kept_routes
from ivr.config.bounded_yaml import YamlRefused, load_yaml
from ivr.secret_rules import weak_hash_reason

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CallTaker = Callable[[str], Awaitable[str | None]]  # call id -> the taker (taker id) of that call


class Role(StrEnum):
    CALL_TAKER = "call-taker"
    SUPERVISOR = "supervisor"
    ENGINEER = "engineer"


@dataclass(frozen=True)
class User:
    name: str
    roles: frozenset[Role]
    taker: str | None = None  # a call taker's taker id

    @property
    def who(self) -> str:
        """The name the audit records for what this user submits."""
        return self.taker if self.roles == {Role.CALL_TAKER} and self.taker else self.name

    def acting_as(self, given: str) -> str:
        """Who acts for a submission naming `given`: a call taker is always themselves."""
        return self.taker if self.roles == {Role.CALL_TAKER} and self.taker else given


class UserEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,40}$")]
    role: Role
    taker: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_-]{0,30}$")
    token_sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]

    @field_validator("token_sha256", mode="before")
    @classmethod
    def _quoted(cls, value: object) -> object:
        if not isinstance(value, str):
            raise ValueError("write the hash in quotes (YAML reads some hashes as numbers)")
        return value

    @model_validator(mode="before")
    @classmethod
    def _former_names(cls, data: object) -> object:
        """`agent:`, a call taker's id under its former name, is read for one release."""
        if isinstance(data, dict) and "agent" in data and "taker" not in data:
            data = {("taker" if key == "agent" else key): value for key, value in data.items()}
        return data

    @model_validator(mode="after")
    def _taker_for_call_takers(self) -> UserEntry:
        if (self.role is Role.CALL_TAKER) != (self.taker is not None):
            raise ValueError("a call-taker user needs taker: (their call-taker id); other roles have none")
        return self


class UsersFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    users: list[UserEntry] = Field(max_length=1000)


class UsersInvalid(Exception):
    pass


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def load_users(path: Path | None, admin_token: str, development: bool = False) -> dict[str, User]:
    """token hash -> user; the admin token has every role; a weak token is refused
    (ivr/secret_rules.py) unless in development mode."""
    users = {token_hash(admin_token): User("operator", frozenset(Role))}
    if path is None:
        return users
    try:
        parsed = UsersFile.model_validate(load_yaml(path.read_text())[0] or {})
    except YamlRefused as exc:
        raise UsersInvalid(f"{path}:{exc.line}: {exc.message}") from exc
    except (OSError, yaml.YAMLError) as exc:
        raise UsersInvalid(f"{path}: {exc}") from exc
    except ValidationError as exc:
        problems = [f"{path}: {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise UsersInvalid("\n".join(problems)) from exc
    for entry in parsed.users:
        if entry.token_sha256 in users:
            raise UsersInvalid(f"{path}: user {entry.name}: the same token as another user")
        if not development and (weak := weak_hash_reason(entry.token_sha256)):
            raise UsersInvalid(f"{path}: user {entry.name}: {weak}")
        users[entry.token_sha256] = User(entry.name, frozenset({entry.role}), entry.taker)
    return users


class Scope(StrEnum):
    ALL = "all"  # everything the route serves
    OWN = "own"  # only the user's own: a call taker's status, their calls


# What the authenticator learned about a request, for its handler.
USER = web.RequestKey("user", User)
SCOPE = web.RequestKey("scope", Scope)


# Who may call what: route (method, canonical path; /api/ routes at their v1 path, see
# versions.py) -> rule. Rules: "any" (any user), "staff" (supervisor or engineer), "desk"
# (supervisor or call taker), a role (supervisor: also every call taker rule; engineer:
# the configuration, engineers only), "own-taker" (supervisor, or the call taker of
# {taker}), "own-call" (supervisor, or the call taker of {call}), "staff-or-own"
# (supervisor or engineer: all; a call taker: their own).
RULES: dict[tuple[str, str], str] = {
    ("GET", "/api/v1/takers"): "staff-or-own",  # a call taker sees only themselves
    ("POST", "/api/v1/takers/{taker}/login"): "own-taker",
    ("POST", "/api/v1/takers/{taker}/logout"): "own-taker",
    ("POST", "/api/v1/takers/{taker}/pause"): "own-taker",
    ("POST", "/api/v1/takers/{taker}/unpause"): "own-taker",
    ("GET", "/api/v1/queue"): Role.SUPERVISOR,
    ("GET", "/api/v1/screening"): "staff",
    ("POST", "/api/v1/config/reload"): Role.ENGINEER,
    ("GET", "/api/v1/calls/{call}"): "own-call",
    ("POST", "/api/v1/calls/{call}/disposition"): "own-call",
    ("POST", "/api/v1/calls/{call}/agencies"): "own-call",
    ("POST", "/api/v1/calls/{call}/leave"): "own-call",
    ("GET", "/api/v1/calls/{call}/recording"): "own-call",
    ("GET", "/api/v1/calls/{call}/incident"): "own-call",
    ("PUT", "/api/v1/calls/{call}/incident"): "own-call",
    ("POST", "/api/v1/calls/{call}/incident/arrivals"): "own-call",
    ("GET", "/api/v1/reputation/{number}"): Role.SUPERVISOR,  # call takers: on their desk (feed)
    ("POST", "/api/v1/reputation/{number}/block"): Role.SUPERVISOR,
    ("DELETE", "/api/v1/reputation/{number}/block"): Role.SUPERVISOR,
    ("GET", "/api/v1/blocks/audit"): Role.SUPERVISOR,
    ("GET", "/api/v1/history"): Role.SUPERVISOR,
    ("GET", "/api/v1/history.csv"): Role.SUPERVISOR,
    ("GET", "/api/v1/kpis"): Role.SUPERVISOR,
    ("GET", "/api/v1/service-level"): Role.SUPERVISOR,
    ("GET", "/metrics"): "staff",
    ("GET", "/api/v1/callbacks"): "desk",
    ("POST", "/api/v1/callbacks/{call}"): "desk",  # a call taker calls back as themselves
    ("GET", "/api/v1/live"): "any",  # in-band token; each part of the feed follows its REST route
    ("GET", "/api/v1/events"): "staff",  # other systems' feed (dispatch, GIS); call takers: their desk
    ("POST", "/api/v1/calls/{call}/location"): "own-call",  # the caller's location, typed in at the desk
    ("POST", "/api/v1/aml"): "sender",  # caller locations (AML) from operators: no user, a sender
    ("POST", "/api/v1/aml/sms"): "sender",
}
# The routes' paths from before versioning (/api/...) and the call takers' routes under
# their former name (/api/agents/...): served as before, under the same rules, for one
# release; the OpenAPI document marks them deprecated (versions.py). Former -> its route.
FORMER_ROUTES: dict[tuple[str, str], tuple[str, str]] = former_routes(RULES)
RULES.update({old: RULES[new] for old, new in FORMER_ROUTES.items()})
ALIASES = {**FORMER_ROUTES, **kept_routes()}  # every path served for another: -> that route
OPEN = frozenset({*KEPT, *KEPT.values(), "/", "/dashboard/"})  # no secrets in any
IN_BAND = frozenset({"/api/v1/live", "/api/live"})  # a WebSocket: the token comes in its first message
# Routes a sender of caller locations calls with its own credentials (location_api.py,
# ivr/adapters/aml_senders.py), checked by the handler: no user token there.
SENDER_AUTH = frozenset(path for (_, path), rule in RULES.items() if rule == "sender")
STATIC_PREFIX = "/dashboard/"  # the dashboard's page, scripts and styles
STAFF = frozenset({Role.SUPERVISOR, Role.ENGINEER})


def _grant(rule: str, user: User) -> Scope | None:
    """What a rule gives this user: ALL, their OWN, or nothing (None)."""
    if rule == "any":
        return Scope.ALL
    if rule == "staff":
        return Scope.ALL if STAFF & user.roles else None
    if rule == "desk":
        return Scope.ALL if Role.SUPERVISOR in user.roles or user.taker is not None else None
    if rule in (Role.SUPERVISOR, Role.ENGINEER):
        return Scope.ALL if rule in user.roles else None
    if rule == "staff-or-own" and STAFF & user.roles:
        return Scope.ALL
    if rule in ("own-taker", "own-call", "staff-or-own"):
        if Role.SUPERVISOR in user.roles:
            return Scope.ALL
        return Scope.OWN if user.taker is not None else None
    return None  # an unknown rule opens nothing


def scope(user: User, method: str, path: str) -> Scope | None:
    """How much of what (method, canonical path) serves this user may have; None: nothing."""
    rule = RULES.get((method, path))
    return None if rule is None else _grant(rule, user)


def _why_not(rule: str, user: User) -> str:
    if rule == "desk":
        return f"{user.name} is neither a call taker nor a supervisor"
    if rule == "staff":
        return f"{user.name} is neither a supervisor nor an engineer"
    if rule in (Role.SUPERVISOR, Role.ENGINEER):
        return f"{user.name} is not a {rule}"
    if rule in ("own-taker", "own-call", "staff-or-own"):
        return f"{user.name} is not a call taker"
    return f"unknown rule {rule}"


def user_finder(users: dict[str, User]) -> Callable[[str], User | None]:
    """token -> its user, or None; compared in constant time."""

    def user_of(token: str) -> User | None:
        wanted = token_hash(token)
        return next((u for h, u in users.items() if hmac.compare_digest(h, wanted)), None)

    return user_of


def authenticator(
    users: dict[str, User], taker_of_call: CallTaker
) -> Callable[..., Awaitable[web.StreamResponse]]:
    user_of = user_finder(users)

    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if path in OPEN or path in IN_BAND or path in SENDER_AUTH or path.startswith(STATIC_PREFIX):
            return await handler(request)
        given = request.headers.get("Authorization", "")
        scheme, _, token = given.partition(" ")
        user = user_of(token) if scheme == "Bearer" else None
        if user is None:
            return error(401, "missing or wrong API token (Authorization: Bearer ...)")
        request[USER] = user
        route = request.match_info.route.resource
        canonical = route.canonical if route is not None else request.path
        rule = RULES.get((request.method, canonical))
        if rule is None:
            if request.match_info.http_exception is not None:  # 404/405 from the router
                return await handler(request)
            return error(403, f"{request.method} {canonical} is not open to any role")
        granted = _grant(rule, user)
        if granted is None:
            return error(403, _why_not(rule, user))
        if granted is Scope.OWN:
            refusal = await _not_own(user, request, taker_of_call)
            if refusal is not None:
                return error(403, refusal)
        request[SCOPE] = granted
        return await handler(request)

    return authenticate


async def _not_own(user: User, request: web.Request, taker_of_call: CallTaker) -> str | None:
    """Why a call taker may not act on the taker or call in the path (None: their own).

    A route with neither in its path serves only the user's own part (the handler filters).
    """
    if "taker" in request.match_info:
        own = request.match_info["taker"] == user.taker
        return None if own else f"{user.name} may only change their own status"
    if "call" in request.match_info:
        taker = await taker_of_call(request.match_info["call"])
        return None if taker == user.taker else f"{user.name} may only act on their own calls"
    return None
