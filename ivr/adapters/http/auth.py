"""Who is asking, and what they may do: users, roles and the permission table of the API.

Roles:
- call-taker: their own status (login, pause, ...) and their own calls (record,
  disposition, agencies, leaving, recording); the caller reputation shown on an offer.
- supervisor: everything live and in the history, blocks; metrics.
- engineer: the configuration (reload, engineers only), metrics and screening status.
The token in IVR_API_TOKEN is the operators' own key, with every role (tools, tests).

Rules:
- Users come from IVR_USERS_FILE (YAML): name, role, the agent of a call taker, and the
  SHA-256 of their token (the token itself is never stored); `python -m ivr users hash`
  prints the hash of a token. The file is validated at start; a bad file stops the app
  with every problem named.
- Every request but /api/health, /api/openapi.json and the dashboard's static page must
  authenticate (401 otherwise; the dashboard's feed /api/live with its first message); a route not in the
  permission table is refused (403): nothing is open by omission. "Own" is checked
  against the live call (or its record) and the agent in the path.
- A call taker acts as themselves: the `by` of what they submit is their agent id.
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

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CallTaker = Callable[[str], Awaitable[str | None]]  # call id -> the taker (agent id) of that call


class Role(StrEnum):
    CALL_TAKER = "call-taker"
    SUPERVISOR = "supervisor"
    ENGINEER = "engineer"


@dataclass(frozen=True)
class User:
    name: str
    roles: frozenset[Role]
    agent: str | None = None  # a call taker's agent id

    def acting_as(self, given: str) -> str:
        """Who a submission is by: a call taker is always themselves."""
        return self.agent if self.roles == {Role.CALL_TAKER} and self.agent else given


class UserEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,40}$")]
    role: Role
    agent: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_-]{0,30}$")
    token_sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]

    @field_validator("token_sha256", mode="before")
    @classmethod
    def _quoted(cls, value: object) -> object:
        if not isinstance(value, str):
            raise ValueError("write the hash in quotes (YAML reads some hashes as numbers)")
        return value

    @model_validator(mode="after")
    def _agent_for_call_takers(self) -> UserEntry:
        if (self.role is Role.CALL_TAKER) != (self.agent is not None):
            raise ValueError("a call-taker needs its agent, other roles have none")
        return self


class UsersFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    users: list[UserEntry] = Field(max_length=1000)


class UsersInvalid(Exception):
    pass


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def load_users(path: Path | None, admin_token: str) -> dict[str, User]:
    """token hash -> user; the admin token has every role."""
    users = {token_hash(admin_token): User("operator", frozenset(Role))}
    if path is None:
        return users
    try:
        parsed = UsersFile.model_validate(yaml.safe_load(path.read_text()) or {})
    except (OSError, yaml.YAMLError) as exc:
        raise UsersInvalid(f"{path}: {exc}") from exc
    except ValidationError as exc:
        problems = [f"{path}: {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise UsersInvalid("\n".join(problems)) from exc
    for entry in parsed.users:
        if entry.token_sha256 in users:
            raise UsersInvalid(f"{path}: user {entry.name}: the same token as another user")
        users[entry.token_sha256] = User(entry.name, frozenset({entry.role}), entry.agent)
    return users


# Who may call what: route (method, canonical path) -> rule. Rules: "any" (any user),
# "staff" (supervisor or engineer), "desk" (supervisor or call taker), a role
# (supervisor: also every call taker rule; engineer: the configuration, engineers only),
# "own-agent" (supervisor, or the call taker of {agent}), "own-call" (supervisor, or the
# call taker of {call}).
RULES: dict[tuple[str, str], str] = {
    ("GET", "/api/agents"): "any",  # a call taker sees only themselves
    ("POST", "/api/agents/{agent}/login"): "own-agent",
    ("POST", "/api/agents/{agent}/logout"): "own-agent",
    ("POST", "/api/agents/{agent}/pause"): "own-agent",
    ("POST", "/api/agents/{agent}/unpause"): "own-agent",
    ("GET", "/api/queue"): Role.SUPERVISOR,
    ("GET", "/api/screening"): "staff",
    ("POST", "/api/config/reload"): Role.ENGINEER,
    ("GET", "/api/calls/{call}"): "own-call",
    ("POST", "/api/calls/{call}/disposition"): "own-call",
    ("POST", "/api/calls/{call}/agencies"): "own-call",
    ("POST", "/api/calls/{call}/leave"): "own-call",
    ("GET", "/api/calls/{call}/recording"): "own-call",
    ("GET", "/api/reputation/{number}"): "any",
    ("POST", "/api/reputation/{number}/block"): Role.SUPERVISOR,
    ("DELETE", "/api/reputation/{number}/block"): Role.SUPERVISOR,
    ("GET", "/api/blocks/audit"): Role.SUPERVISOR,
    ("GET", "/api/history"): Role.SUPERVISOR,
    ("GET", "/api/kpis"): Role.SUPERVISOR,
    ("GET", "/metrics"): "staff",
    ("GET", "/api/callbacks"): "desk",
    ("POST", "/api/callbacks/{call}"): "desk",  # a call taker calls back as themselves
    ("GET", "/api/live"): "any",  # in-band token; the feed shows each user what they may see
}
OPEN = frozenset({"/api/health", "/api/openapi.json", "/", "/dashboard/"})  # no secrets in any
IN_BAND = frozenset({"/api/live"})  # a WebSocket: the token comes in its first message
STATIC_PREFIX = "/dashboard/"  # the dashboard's page, scripts and styles


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
        if path in OPEN or path in IN_BAND or path.startswith(STATIC_PREFIX):
            return await handler(request)
        given = request.headers.get("Authorization", "")
        scheme, _, token = given.partition(" ")
        user = user_of(token) if scheme == "Bearer" else None
        if user is None:
            return error(401, "missing or wrong API token (Authorization: Bearer ...)")
        request["user"] = user
        route = request.match_info.route.resource
        canonical = route.canonical if route is not None else request.path
        rule = RULES.get((request.method, canonical))
        if rule is None:
            if request.match_info.http_exception is not None:  # 404/405 from the router
                return await handler(request)
            return error(403, f"{request.method} {canonical} is not open to any role")
        refusal = await _refusal(rule, user, request, taker_of_call)
        if refusal is not None:
            return error(403, refusal)
        return await handler(request)

    return authenticate


async def _refusal(rule: str, user: User, request: web.Request, taker_of_call: CallTaker) -> str | None:
    if rule == "any":
        return None
    if rule == "desk":
        desk = Role.SUPERVISOR in user.roles or user.agent is not None
        return None if desk else f"{user.name} is neither a call taker nor a supervisor"
    if rule == "staff":
        staff = {Role.SUPERVISOR, Role.ENGINEER} & user.roles
        return None if staff else f"{user.name} is neither a supervisor nor an engineer"
    if rule in (Role.SUPERVISOR, Role.ENGINEER):
        return None if rule in user.roles else f"{user.name} is not a {rule}"
    if Role.SUPERVISOR in user.roles:
        return None
    if user.agent is None:
        return f"{user.name} is not a call taker"
    if rule == "own-agent":
        agent = request.match_info.get("agent")
        return None if agent == user.agent else f"{user.name} may only change their own status"
    if rule == "own-call":
        taker = await taker_of_call(request.match_info.get("call", ""))
        return None if taker == user.agent else f"{user.name} may only act on their own calls"
    return f"unknown rule {rule}"
