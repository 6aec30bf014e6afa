# One permission table (ivr.adapters.http.auth.RULES) for REST and the dashboard's feed:
# every role against every REST route of the real app, and against every part of the
# feed's snapshot; a part of the feed reaches exactly the roles its REST route serves.
from __future__ import annotations

import pytest

from ivr.adapters.http.auth import FORMER_ROUTES, RULES, Role, User
from ivr.adapters.http.snapshot import FEED, DeskMemory, SharedFigures, snapshot
from ivr.engine.centre_service import CentreService
from tests.unit.http_app import CALL_OTHER, CALL_OWN, TAKER, USERS, Api, api

T, S, E, OP = "call-taker", "supervisor", "engineer", "operator"
ROLES = (T, S, E, OP)
# Who may call each route (the call taker: with their own taker and their own call).
REST: dict[tuple[str, str], set[str]] = {
    ("GET", "/api/v1/takers"): {T, S, E, OP},
    ("POST", "/api/v1/takers/{taker}/login"): {T, S, OP},
    ("POST", "/api/v1/takers/{taker}/logout"): {T, S, OP},
    ("POST", "/api/v1/takers/{taker}/pause"): {T, S, OP},
    ("POST", "/api/v1/takers/{taker}/unpause"): {T, S, OP},
    ("GET", "/api/v1/queue"): {S, OP},
    ("GET", "/api/v1/screening"): {S, E, OP},
    ("POST", "/api/v1/config/reload"): {E, OP},
    ("GET", "/api/v1/calls/{call}"): {T, S, OP},
    ("POST", "/api/v1/calls/{call}/disposition"): {T, S, OP},
    ("POST", "/api/v1/calls/{call}/agencies"): {T, S, OP},
    ("POST", "/api/v1/calls/{call}/leave"): {T, S, OP},
    ("GET", "/api/v1/calls/{call}/recording"): {T, S, OP},
    ("GET", "/api/v1/calls/{call}/incident"): {T, S, OP},
    ("PUT", "/api/v1/calls/{call}/incident"): {T, S, OP},
    ("POST", "/api/v1/calls/{call}/incident/arrivals"): {T, S, OP},
    ("POST", "/api/v1/calls/{call}/location"): {T, S, OP},
    ("GET", "/api/v1/reputation/{number}"): {S, OP},
    ("POST", "/api/v1/reputation/{number}/block"): {S, OP},
    ("DELETE", "/api/v1/reputation/{number}/block"): {S, OP},
    ("GET", "/api/v1/blocks/audit"): {S, OP},
    ("GET", "/api/v1/history"): {S, OP},
    ("GET", "/api/v1/history.csv"): {S, OP},
    ("GET", "/api/v1/kpis"): {S, OP},
    ("GET", "/api/v1/service-level"): {S, OP},
    ("GET", "/metrics"): {S, E, OP},
    ("GET", "/api/v1/callbacks"): {T, S, OP},
    ("POST", "/api/v1/callbacks/{call}"): {T, S, OP},
    ("GET", "/api/v1/events"): {S, E, OP},
}
# The former paths (/api/..., /api/agents/...): as before, for the same roles.
REST.update({old: REST[new] for old, new in FORMER_ROUTES.items() if new in REST})
# What each role finds in the feed's snapshot (beside type, user, agencies, ...).
FEED_PARTS: dict[str, set[str]] = {
    T: {"takers", "calls", "callbacks", "my_call"},
    S: {"waiting", "takers", "calls", "kpis", "service_level", "callbacks", "screening"},
    E: {"takers", "screening"},
    OP: {"waiting", "takers", "calls", "kpis", "service_level", "callbacks", "screening"},
}


def concrete(path: str, taker: str = TAKER, call: str = CALL_OWN) -> str:
    return path.replace("{taker}", taker).replace("{call}", call).replace("{number}", "081200000009")


async def status_of(app: Api, role: str, method: str, path: str) -> int:
    # "[]" is no body model: a route that reads its body answers 400 once it let the user in
    response = await app.client.request(method, path, data=b"[]", headers=app.auth(role))
    if response.status in (401, 403):
        assert "error" in await response.json()
    return response.status


async def feed_of(app: Api, role: str) -> dict[str, object]:
    user = USERS[role][1]
    shared = SharedFigures(CentreService(app.engine), app.reputation, "Asia/Makassar")
    return await snapshot(
        user, CentreService(app.engine), app.store, app.reputation, shared, DeskMemory(), "Asia/Makassar", 5.0
    )


def test_the_expected_table_covers_every_route_and_every_part() -> None:
    senders = {route for route, rule in RULES.items() if rule == "sender"}  # no user: test_location_api
    assert senders == {("POST", "/api/v1/aml"), ("POST", "/api/v1/aml/sms")}
    assert set(REST) == set(RULES) - {("GET", "/api/v1/live"), ("GET", "/api/live")} - senders
    assert set(FEED) == set().union(*FEED_PARTS.values())
    assert all(route in REST for route in FEED.values())


@pytest.mark.parametrize("role", ROLES)
async def test_each_role_reaches_exactly_its_routes(role: str) -> None:
    async with api() as app:
        for (method, path), allowed in REST.items():
            status = await status_of(app, role, method, concrete(path))
            assert (status == 403) == (role not in allowed), (role, method, path, status)
            assert status not in (401, 500), (role, method, path, status)


async def test_a_call_taker_reaches_no_other_takers_status_or_calls() -> None:
    async with api() as app:
        for method, path in REST:
            if "{taker}" in path or ("{call}" in path and "/callbacks/" not in path):
                status = await status_of(app, T, method, concrete(path, "taker02", CALL_OTHER))
                assert status == 403, (method, path, status)


@pytest.mark.parametrize("role", ROLES)
async def test_each_role_gets_the_feed_parts_of_the_routes_it_may_call(role: str) -> None:
    async with api() as app:
        view = await feed_of(app, role)
        given = {part for part in FEED if part in view}
        assert given == FEED_PARTS[role]
        for part, (method, path) in FEED.items():  # the feed follows REST, part by part
            allowed = await status_of(app, role, method, concrete(path)) != 403
            expected = allowed and (part != "my_call" or USERS[role][1].taker is not None)
            assert (part in view) == expected, (role, part)


async def test_the_feed_gives_each_role_its_share_of_takers_and_calls() -> None:
    async with api() as app:
        taker = await feed_of(app, T)
        assert [a["id"] for a in taker["takers"]] == [TAKER]  # type: ignore[index]
        assert [c["call_id"] for c in taker["calls"]] == [CALL_OWN]  # type: ignore[attr-defined]
        assert taker["my_call"]["call_id"] == CALL_OWN  # type: ignore[index]
        engineer = await feed_of(app, E)
        assert len(engineer["takers"]) == 20  # type: ignore[arg-type]
        assert "081200000001" not in str(engineer)  # no caller's number reaches an engineer
        supervisor = await feed_of(app, S)
        assert {c["call_id"] for c in supervisor["calls"]} == {CALL_OWN, CALL_OTHER}  # type: ignore[attr-defined]


def test_the_audit_names_the_signed_in_user() -> None:
    assert USERS[T][1].who == TAKER
    assert USERS[S][1].who == "ketua-regu"
    assert USERS[OP][1].who == "operator"
    assert User("x", frozenset({Role.ENGINEER})).who == "x"
