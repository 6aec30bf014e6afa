"""Call takers' dispositions through the API: stored on the call, counted per caller
number within the window (the reputation screening reads), every change audited."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.stack import Process, Stack, place_call

pytestmark = pytest.mark.integration


def disposition(stack: Stack, call_id: str, value: str) -> tuple[int, Any]:
    return stack.api("POST", f"/api/calls/{call_id}/disposition", {"disposition": value})


def test_dispositions_build_the_numbers_reputation_and_are_audited(
    stack: Stack, control_plane: Callable[..., Process], media: Path
) -> None:
    control_plane([])
    before = stack.call_ids()
    for _ in range(3):
        assert place_call(media, "112", hold_ms=1200, caller="0899111222").popen.returncode == 0
    calls = [c for c in stack.call_ids() if c not in before]
    assert len(calls) == 3
    for call_id in calls:
        stack.wait_ended(call_id)
        status, body = disposition(stack, call_id, "prank")
        assert status == 200 and body["replaced"] is None, body
    assert stack.api("GET", "/api/reputation/0899111222")[1]["counts"] == {"prank": 3}

    status, body = disposition(stack, calls[0], "genuine")
    assert status == 200 and body["replaced"] == "prank"
    assert stack.api("GET", "/api/reputation/0899111222")[1]["counts"] == {"prank": 2, "genuine": 1}
    record = stack.record(calls[0])
    assert record["disposition"] == "genuine" and record["by"] == "caller"  # who ended the call is kept
    audit = [json.loads(raw) for raw in stack.redis().lrange("ivr:disposition-audit", 0, -1)]
    changes = [(a["from"], a["to"], a["by"]) for a in audit if a["call_id"] == calls[0]]
    assert changes == [(None, "prank", "operator"), ("prank", "genuine", "operator")]  # the signed-in user

    status, body = disposition(stack, calls[1], "maybe")
    assert status == 400 and any("disposition" in p for p in body["problems"])
    assert disposition(stack, "nope", "prank")[0] == 404
    assert stack.api("GET", "/api/reputation/0811000000")[1]["counts"] == {}
