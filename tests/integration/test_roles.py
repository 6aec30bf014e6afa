"""Roles on the real stack: users from IVR_USERS_FILE (token hashes), each role limited to
what it owns (a call taker: their own status and calls; a supervisor: everything live
and in the history; an engineer: the configuration and metrics); a bad users file stops
the control plane with the problem named."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.stack import Process, Stack, place_call, start_control_plane, users_file, wait_for

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


def test_each_role_reaches_only_what_it_owns(
    stack: Stack,
    control_plane: Callable[..., Process],
    phones: Callable[..., Process],
    media: Path,
    tmp_path: Path,
) -> None:
    control_plane(["taker02"], IVR_USERS_FILE=str(users(tmp_path)))
    taker, sup, eng = TOKENS["taker01"], TOKENS["sup"], TOKENS["eng"]

    assert stack.api("GET", "/api/agents", token="")[0] == 401
    assert stack.api("GET", "/api/agents", token="not-a-user-token-at-all")[0] == 401
    assert [a["id"] for a in stack.api("GET", "/api/agents", token=taker)[1]] == ["taker01"]
    assert stack.api("POST", "/api/agents/taker01/pause", {"reason": "makan"}, token=taker)[0] == 200
    status, body = stack.api("POST", "/api/agents/taker02/pause", {"reason": "x"}, token=taker)
    assert status == 403 and "own status" in body["error"]
    for path in ("/api/queue", "/api/history", "/api/kpis", "/api/blocks/audit"):
        assert stack.api("GET", path, token=taker)[0] == 403, path
    assert stack.api("POST", "/api/config/reload", token=taker)[0] == 403

    assert stack.api("GET", "/api/queue", token=sup)[0] == 200
    assert len(stack.api("GET", "/api/agents", token=sup)[1]) == 20
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
    agency = {"agency": "damkar", "by": "taker01"}
    assert stack.api("POST", f"/api/calls/{call_id}/agencies", agency, token=taker)[0] == 403
    assert stack.api("GET", f"/api/calls/{call_id}", token=sup)[0] == 200
    assert call.popen.wait(timeout=60) == 0
    stack.wait_ended(call_id)
    verdict = {"disposition": "genuine", "by": "sup"}
    assert stack.api("POST", f"/api/calls/{call_id}/disposition", verdict, token=sup)[0] == 200


def test_a_bad_users_file_stops_the_control_plane_with_the_problem_named(
    stack: Stack, tmp_path: Path
) -> None:
    path = tmp_path / "users.yaml"
    path.write_text('users:\n  - {name: a, role: call-taker, token_sha256: "' + "0" * 64 + '"}\n')
    app = start_control_plane(stack, tmp_path / "cp.log", IVR_USERS_FILE=str(path))
    wait_for(lambda: not app.alive(), 15, "the control plane to refuse the users file")
    assert app.popen.returncode == 2
    assert "users.0" in app.output() and "a call-taker needs its agent" in app.output()
