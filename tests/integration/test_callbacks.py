"""Calling back abandoned callers on the real stack: a SIPp caller hangs up before reaching
anyone and is listed for a callback (with its verdict and reputation); a callback to a
busy number rings the call taker, fails and is recorded as unreached; a second attempt
rings the SIPp "caller" back through the trunk and bridges it with the call taker (audio
both ways), and the abandoned call's record carries both attempts and their results."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.stack import CARRIER_IP, SIPP_DIR, Process, Stack, place_call, wait_for

pytestmark = pytest.mark.integration
NUMBER = "081277700001"


def callee(folder: Path, scenario: str) -> Process:
    """The caller's own phone, reached through the trunk (the carrier's address)."""
    args = ["sipp", "-sf", str(SIPP_DIR / scenario), "-i", CARRIER_IP, "-p", "5060", "-mi", CARRIER_IP,
            "-mp", "6600", "-m", "1", "-nostdin", "-trace_err",
            "-error_file", str(folder / f"callee_{scenario}.log")]  # fmt: skip
    return Process(args, folder / f"callee_{scenario}.out", cwd=folder)


def listed(stack: Stack, call_id: str) -> dict[str, Any] | None:
    entries = stack.api("GET", "/api/callbacks")[1]["callbacks"]
    return next((e for e in entries if e["call_id"] == call_id), None)


def test_an_abandoned_caller_is_called_back_and_bridged_with_the_call_taker(
    stack: Stack, control_plane: Callable[..., Process], phones: Callable[..., Process], media: Path
) -> None:
    control_plane([])  # nobody logged in: the caller gives up
    phones("taker05", "phone_hangs_up.xml", hold_ms=9000)
    before = stack.call_ids()
    place_call(media, "112", hold_ms=9000, caller=NUMBER)
    call_id = stack.new_call_id(before)
    assert stack.wait_ended(call_id)["outcome"].startswith("abandoned")

    entry = wait_for(lambda: listed(stack, call_id), 10, "the abandoned caller on the callback list")
    assert entry["caller"] == NUMBER and entry["status"] == "pending" and entry["prank_reports"] == 0
    assert "verdict" in entry and entry["waited_seconds"] > 5

    status, body = stack.api("POST", f"/api/callbacks/{call_id}", {"taker": "taker05"})
    assert status == 409 and "logged-out" in body["error"]
    assert stack.api("POST", f"/api/callbacks/{call_id}", {"taker": "nobody"})[0] == 400
    assert stack.api("POST", "/api/callbacks/no-such-call", {"taker": "taker05"})[0] == 404
    stack.login("taker05")

    # First attempt: the number is busy.
    busy = callee(media, "callee_busy.xml")
    status, body = stack.api("POST", f"/api/callbacks/{call_id}", {"taker": "taker05"})
    assert status == 202, body
    first = body["callback"]
    assert first == f"{call_id}-cb1" and body["number"] == NUMBER
    ended = stack.wait_ended(first, timeout=30)
    assert ended["outcome"] == "callback-unreached" and ended["callback_of"] == call_id
    assert busy.popen.wait(timeout=10) == 0, busy.output()
    wait_for(lambda: (e := listed(stack, call_id)) and e["status"] == "unreached", 10, "status unreached")

    # Second attempt: the caller answers and talks with the call taker, who hangs up.
    answering = callee(media, "phone_answers.xml")
    wait_for(
        lambda: stack.api("POST", f"/api/callbacks/{call_id}", {"taker": "taker05"})[0] == 202,
        20,
        "taker05 free again (after wrap-up) and the callback started",
    )
    second = f"{call_id}-cb2"
    stack.wait_entry(second, "callee-answered", timeout=30)
    out_leg = f"{second}-out"
    taker_leg = f"{second}-t1"
    wait_for(
        lambda: min(*stack.rtp_counts(out_leg), *stack.rtp_counts(taker_leg)) > 50,
        10,
        "audio both ways on the called-back leg and the call taker's leg",
    )
    done = stack.wait_ended(second, timeout=30)
    assert done["outcome"] == "callback-reached" and done["taker"] == "taker05"
    assert answering.popen.wait(timeout=10) == 0, answering.output()

    timeline = stack.record(call_id)["timeline"]
    attempts = [
        (e["entry"], e["callback"], e.get("result")) for e in timeline if e["entry"].startswith("callback")
    ]
    assert attempts == [
        ("callback-started", first, None),
        ("callback-result", first, "unreached"),
        ("callback-started", second, None),
        ("callback-result", second, "reached"),
    ]
    final = wait_for(lambda: (e := listed(stack, call_id)) and e["status"] == "reached" and e, 10, "reached")
    assert [a["result"] for a in final["attempts"]] == ["unreached", "reached"]
    assert stack.recording(second)[0] == 200  # the callback is recorded like any call
    figures = stack.api("GET", "/api/kpis")[1]
    assert figures["calls"] == len(
        [c for c in stack.api("GET", "/api/history")[1]["calls"] if not c["callback_of"]]
    )
