"""Roles on the real stack: users from IVR_USERS_FILE (token hashes), each role limited to
what it owns (a call taker: their own status and calls; a supervisor: everything live
and in the history, reputations and blocks; an engineer: the configuration, the call
takers' status and phones, metrics), on REST and on the dashboard's live feed alike; what
a user submits is audited under their own name whatever the body says; a bad users file
stops the control plane with the problem named."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.integration.stack import (
    Process,
    Stack,
    centre_config,
    place_call,
    start_control_plane,
    users_file,
    wait_for,
)

pytestmark = pytest.mark.integration

TOKENS = {
    "taker01": "taker01-secret-token-1",
    "sup": "supervisor-secret-token",
    "eng": "engineer-secret-token1",
}


def users(folder: Path) -> Path:
    return users_file(folder, {"taker01": (TOKENS["taker01"], "call-taker", "taker01"),
                               "sup": (TOKENS["sup"], "supervisor", ""),
                               "eng": (TOKENS["eng"], "engineer", "")})  # fmt: skip


def with_blocking(folder: Path) -> Path:
    """The shipped centre configuration with screening.block.enabled: true."""
    config = centre_config(folder)
    text = config.read_text()
    assert "  block:\n    enabled: false" in text
    config.write_text(text.replace("  block:\n    enabled: false", "  block:\n    enabled: true"))
    return config


async def _feed(stack: Stack, token: str) -> dict[str, Any]:
    url = f"http://127.0.0.1:{stack.api_port}/api/live"
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        await ws.send_str(json.dumps({"token": token}))
        return dict(json.loads((await ws.receive(timeout=10)).data))


def feed(stack: Stack, token: str) -> dict[str, Any]:
    """The first snapshot of the dashboard's live feed for this token."""
    return asyncio.run(_feed(stack, token))


PARTS = ("waiting", "takers", "calls", "kpis", "callbacks", "screening", "my_call")


def test_each_role_reaches_only_what_it_owns(
    stack: Stack,
    control_plane: Callable[..., Process],
    phones: Callable[..., Process],
    media: Path,
    tmp_path: Path,
) -> None:
    control_plane(
        ["taker02"], IVR_USERS_FILE=str(users(tmp_path)), IVR_CENTRE_CONFIG=str(with_blocking(tmp_path))
    )
    taker, sup, eng = TOKENS["taker01"], TOKENS["sup"], TOKENS["eng"]

    assert stack.api("GET", "/api/takers", token="")[0] == 401
    assert stack.api("GET", "/api/takers", token="not-a-user-token-at-all")[0] == 401
    assert [a["id"] for a in stack.api("GET", "/api/takers", token=taker)[1]] == ["taker01"]
    assert stack.api("POST", "/api/takers/taker01/pause", {"reason": "makan"}, token=taker)[0] == 200
    status, body = stack.api("POST", "/api/takers/taker02/pause", {"reason": "x"}, token=taker)
    assert status == 403 and "own status" in body["error"]
    for path in ("/api/queue", "/api/history", "/api/kpis", "/api/blocks/audit", "/api/reputation/0811"):
        assert stack.api("GET", path, token=taker)[0] == 403, path
    assert stack.api("POST", "/api/config/reload", token=taker)[0] == 403
    assert stack.api("GET", "/api/reputation/0811", token=eng)[0] == 403  # reputations: supervisors
    assert stack.api("GET", "/api/reputation/0811", token=sup)[0] == 200

    assert stack.api("GET", "/api/queue", token=sup)[0] == 200
    assert len(stack.api("GET", "/api/takers", token=sup)[1]) == 20
    assert stack.api("POST", "/api/config/reload", token=sup)[0] == 403  # configuration is the engineers'
    assert stack.api("POST", "/api/config/reload", token=eng)[0] == 200
    assert stack.api("GET", "/api/queue", token=eng)[0] == 403

    phones("taker02", "phone_answers.xml")
    before = stack.call_ids()
    call = place_call(media, "112", hold_ms=10000, caller="081233300001", wait=False)
    call_id = stack.new_call_id(before)
    stack.wait_entry(call_id, "connected", timeout=30)
    status, body = stack.api("GET", f"/api/calls/{call_id}", token=taker)
    assert status == 403 and "own calls" in body["error"]  # taker02's call
    agency = {"agency": "damkar"}
    assert stack.api("POST", f"/api/calls/{call_id}/agencies", agency, token=taker)[0] == 403
    assert stack.api("GET", f"/api/calls/{call_id}", token=sup)[0] == 200
    assert call.popen.wait(timeout=60) == 0
    stack.wait_ended(call_id)

    # What a supervisor submits is audited under their own name, whatever the body says.
    verdict = {"disposition": "genuine", "by": "someone-else"}
    assert stack.api("POST", f"/api/calls/{call_id}/disposition", verdict, token=sup)[0] == 200
    entries = [e for e in stack.record(call_id)["timeline"] if e["entry"] == "disposition"]
    assert [e["disposition_by"] for e in entries] == ["sup"]
    audit = [json.loads(raw) for raw in stack.redis().lrange("ivr:disposition-audit", 0, -1)]
    assert [a["by"] for a in audit if a["call_id"] == call_id] == ["sup"]
    block = {"minutes": 5, "reason": "testing who is audited", "by": "someone-else"}
    assert stack.api("POST", "/api/reputation/081233300001/block", block, token=sup)[0] == 200
    status, body = stack.api(
        "DELETE", "/api/reputation/081233300001/block", {"by": "someone-else"}, token=sup
    )
    assert status == 200, body
    audit = stack.api("GET", "/api/blocks/audit", token=sup)[1]
    assert [(a["action"], a["by"]) for a in audit[-2:]] == [("block", "sup"), ("unblock", "sup")]


def test_each_role_gets_only_its_part_of_the_live_feed(
    stack: Stack, control_plane: Callable[..., Process], media: Path, tmp_path: Path
) -> None:
    control_plane([], IVR_USERS_FILE=str(users(tmp_path)))
    before = stack.call_ids()
    call = place_call(media, "112", hold_ms=20000, caller="081233300009", wait=False)
    call_id = stack.new_call_id(before)
    wait_for(lambda: stack.api("GET", "/api/queue")[1], 15, "the caller waiting (no call taker logged in)")

    views = {role: feed(stack, token) for role, token in [*TOKENS.items(), ("operator", stack.api_token)]}
    given = {role: {part for part in PARTS if part in view} for role, view in views.items()}
    assert given == {
        "taker01": {"takers", "calls", "callbacks", "my_call"},
        "sup": {"waiting", "takers", "calls", "kpis", "callbacks", "screening"},
        "eng": {"takers", "screening"},
        "operator": {"waiting", "takers", "calls", "kpis", "callbacks", "screening"},
    }
    assert [w["call_id"] for w in views["sup"]["waiting"]] == [call_id]
    assert "081233300009" in json.dumps(views["sup"])
    assert "081233300009" not in json.dumps(views["eng"])  # no caller's number for engineers
    assert len(views["eng"]["takers"]) == 20 and all("reachable" in a for a in views["eng"]["takers"])
    assert [a["id"] for a in views["taker01"]["takers"]] == ["taker01"]
    assert views["taker01"]["calls"] == [] and views["taker01"]["my_call"] is None
    # The same table on REST: what the feed leaves out, REST refuses.
    assert stack.api("GET", "/api/queue", token=TOKENS["eng"])[0] == 403
    assert stack.api("GET", "/api/kpis", token=TOKENS["eng"])[0] == 403
    assert stack.api("GET", "/api/callbacks", token=TOKENS["eng"])[0] == 403
    assert stack.api("GET", f"/api/calls/{call_id}", token=TOKENS["eng"])[0] == 403
    assert stack.api("GET", "/api/screening", token=TOKENS["eng"])[0] == 200
    assert stack.api("GET", "/api/queue", token=TOKENS["taker01"])[0] == 403
    call.popen.wait(timeout=60)


def test_a_bad_users_file_stops_the_control_plane_with_the_problem_named(
    stack: Stack, tmp_path: Path
) -> None:
    path = tmp_path / "users.yaml"
    path.write_text('users:\n  - {name: a, role: call-taker, token_sha256: "' + "0" * 64 + '"}\n')
    app = start_control_plane(stack, tmp_path / "cp.log", IVR_USERS_FILE=str(path))
    wait_for(lambda: not app.alive(), 15, "the control plane to refuse the users file")
    assert app.popen.returncode == 2
    assert (
        "users.0" in app.output() and "a call-taker user needs taker: (their call-taker id)" in app.output()
    )
