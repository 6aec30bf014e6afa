"""What happens when the control plane is missing: the dialplan fallback still rings
a call taker, ARI unreachable at start is retried, a crashed control plane's waiting
caller is adopted at the next start (and one who gave up meanwhile is ended and listed
for a callback), and a deliberate stop hands waiting callers to the native queue."""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.stack import Process, Stack, place_call, wait_for

pytestmark = pytest.mark.integration


def test_fallback_queue_rings_a_taker_when_control_plane_is_down(
    stack: Stack, phones: Callable[..., Process], media: Path
) -> None:
    phones("taker03", "phone_answers.xml")
    before = stack.call_ids()

    call = place_call(media, "112", hold_ms=16000, wait=False)
    wait_for(lambda: stack.taker_leg_up("taker03"), 25, "app_queue to ring taker03 and the phone to answer")
    assert call.popen.wait(timeout=40) == 0, call.output()
    assert stack.call_ids() == before, "no control plane was running, yet a record appeared"


def test_unreachable_ari_at_start_is_retried_not_fatal(
    stack: Stack, control_plane: Callable[..., Process]
) -> None:
    app = control_plane(["taker01"], IVR_ARI_URL="http://127.0.0.1:8099")
    wait_for(lambda: app.output().count("unreachable") >= 3 or not app.alive(), 10, "three retries")
    assert app.alive(), app.output()
    delays = [float(d) for d in re.findall(r"retrying in ([0-9.]+) s", app.output())]
    assert delays[:3] == [0.5, 1.0, 2.0], app.output()
    assert "Traceback" not in app.output()
    # health fails (503) while callers could not reach a taker through it, naming the part
    status, health = stack.api("GET", "/api/health", token="")
    assert status == 503 and health["status"] == "down", health
    assert health["parts"]["asterisk"]["state"] == "down"
    assert health["parts"]["redis"]["state"] == "ok" and health["parts"]["ami"]["state"] in ("ok", "degraded")


def test_crashed_control_plane_adopts_the_waiting_caller_at_restart(
    stack: Stack, control_plane: Callable[..., Process], phones: Callable[..., Process], media: Path
) -> None:
    first = control_plane(["taker04"])
    before = stack.call_ids()
    call = place_call(media, "112", hold_ms=30000, wait=False)
    call_id = stack.new_call_id(before)
    stack.wait_entry(call_id, "greeting-done")
    first.stop(signal.SIGKILL)  # a crash: nobody is free, the caller waits in Asterisk alone

    time.sleep(1)
    control_plane(["taker04"])
    phones("taker04", "phone_answers.xml")
    stack.wait_entry(call_id, "connected", timeout=20)
    assert call.popen.wait(timeout=40) == 0, call.output()

    # the crashed control plane's screening channels and bridge were cleaned up at reconnect
    assert not [c["id"] for c in stack.channels() if c["id"].endswith(("-snoop", "-media"))]
    assert not [b["id"] for b in stack.ari("GET", "/bridges")[1] if b["id"].endswith("-screen")]

    record = stack.wait_ended(call_id)
    beside = ("screening-started", "screened", "recording")
    names = [item["entry"] for item in record["timeline"] if item["entry"] not in beside]
    assert names[:3] == ["arrived", "answered", "greeting-done"]
    assert "adopted" in names and names[-3:] == ["taker-answered", "connected", "ended"]
    assert record["outcome"] == "answered" and record["taker"] == "taker04"
    assert stack.recording(call_id)[0] == 200  # recorded through the crash


def test_a_caller_who_hangs_up_while_no_control_plane_runs_is_ended_and_listed_for_callback(
    stack: Stack, control_plane: Callable[..., Process], media: Path
) -> None:
    """A crash while the caller waits; the caller gives up before a control plane is back.
    Nobody saw the hang-up, yet the record ends (abandoned while waiting, found open) and
    the caller is on the callback list."""
    first = control_plane([])  # nobody logged in: the caller waits
    before = stack.call_ids()
    call = place_call(media, "112", hold_ms=12000, caller="081288800031", wait=False)
    call_id = stack.new_call_id(before)
    stack.wait_entry(call_id, "greeting-done")
    first.stop(signal.SIGKILL)
    assert call.popen.wait(timeout=30) == 0, call.output()  # gave up with nobody attending
    assert not stack.record(call_id).get("ended_at")

    control_plane([])
    record = stack.wait_ended(call_id, timeout=30)
    assert record["outcome"] == "abandoned-in-queue" and record["by"] == "found open"
    names = [e["entry"] for e in record["timeline"]]
    assert names[-2:] == ["unattended", "ended"], names
    assert float(record["ended_at"]) > float(record["timeline"][-2]["last_seen_at"])

    def listed() -> dict | None:
        entries = stack.api("GET", "/api/callbacks")[1]["callbacks"]
        return next((e for e in entries if e["call_id"] == call_id), None)

    entry = wait_for(listed, 10, "the caller on the callback list")
    assert entry["caller"] == "081288800031" and entry["status"] == "pending"


def test_deliberate_stop_hands_the_waiting_caller_to_the_native_queue(
    stack: Stack, control_plane: Callable[..., Process], phones: Callable[..., Process], media: Path
) -> None:
    app = control_plane(["taker07"])
    before = stack.call_ids()
    call = place_call(media, "112", hold_ms=25000, wait=False)
    call_id = stack.new_call_id(before)
    stack.wait_entry(call_id, "greeting-done")
    assert app.stop(signal.SIGTERM) == 0, app.output()
    assert "1 waiting callers go to the native queue" in app.output()

    record = stack.wait_ended(call_id)
    assert record["outcome"] == "handed-to-fallback"
    phones("taker07", "phone_answers.xml")  # the first call taker to come free
    wait_for(lambda: stack.taker_leg_up("taker07"), 15, "app_queue to ring taker07 and the phone to answer")
    assert call.popen.wait(timeout=40) == 0, call.output()


def test_calls_the_native_queue_took_are_recorded_and_get_records_when_the_control_plane_is_back(
    stack: Stack, control_plane: Callable[..., Process], phones: Callable[..., Process], media: Path
) -> None:
    """Control plane stopped: three callers reach the native queue. One hangs up during the
    greeting, one waits with nobody free and gives up, one is answered by a call taker.
    Once the control plane runs again, each has a record with its named outcome, and the
    answered one its recording."""
    before = stack.call_ids()
    in_greeting = place_call(media, "112", hold_ms=3000, caller="081288800021", wait=False, port=5062)
    gave_up = place_call(media, "112", hold_ms=13000, caller="081288800022", wait=False, port=5063)
    assert in_greeting.popen.wait(timeout=20) == 0, in_greeting.output()
    assert gave_up.popen.wait(timeout=30) == 0, gave_up.output()
    phones("taker08", "phone_answers.xml")
    answered = place_call(media, "112", hold_ms=16000, caller="081288800023", wait=False, port=5064)
    wait_for(lambda: stack.taker_leg_up("taker08"), 25, "app_queue to ring taker08 and the phone to answer")
    assert answered.popen.wait(timeout=40) == 0, answered.output()
    assert stack.call_ids() == before, "no control plane was running, yet a record appeared"
    assert len(stack.native_lines()) == 3

    control_plane(["taker08"])
    by_caller: dict[str, dict] = {}

    def three_records() -> bool:
        for call_id in stack.call_ids():
            if call_id not in before:
                record = stack.record(call_id)
                by_caller[record.get("caller", "")] = record | {"call_id": call_id}
        return len(by_caller) == 3 and all(r.get("outcome") for r in by_caller.values())

    wait_for(three_records, 30, "records of the three native calls")
    outcomes = {caller: r["outcome"] for caller, r in by_caller.items()}
    assert outcomes == {
        "081288800021": "abandoned-in-greeting",
        "081288800022": "abandoned-in-queue",
        "081288800023": "answered",
    }
    record = by_caller["081288800023"]
    names = [e["entry"] for e in record["timeline"]]
    assert names == ["arrived", "recording", "queued-natively", "taker-answered", "ended"]
    assert record["taker"] == "taker08"
    queued = next(e for e in record["timeline"] if e["entry"] == "queued-natively")
    assert queued["reason"] == "control plane not connected"
    # recorded by the dialplan from answer to end: the whole call
    status, audio, _ = stack.recording(record["call_id"])
    assert status == 200
    seconds = (len(audio) - 44) / 16000
    assert abs(seconds - (float(record["ended_at"]) - float(record["arrived_at"]))) < 1.5, seconds
    wait_for(lambda: not stack.native_lines(), 10, "the native lines to be deleted once kept")


def test_a_handed_over_caller_s_record_tells_what_the_native_queue_did(
    stack: Stack, control_plane: Callable[..., Process], phones: Callable[..., Process], media: Path
) -> None:
    app = control_plane(["taker09"])
    before = stack.call_ids()
    call = place_call(media, "112", hold_ms=22000, wait=False)
    call_id = stack.new_call_id(before)
    stack.wait_entry(call_id, "greeting-done")
    assert app.stop(signal.SIGTERM) == 0, app.output()
    phones("taker09", "phone_answers.xml")
    wait_for(lambda: stack.taker_leg_up("taker09"), 15, "app_queue to ring taker09 and the phone to answer")
    assert call.popen.wait(timeout=40) == 0, call.output()

    control_plane(["taker09"])
    record = stack.wait_entry(call_id, "left-natively", timeout=30)
    assert record["outcome"] == "handed-to-fallback"  # a call ends once: its outcome stands
    after = [e["entry"] for e in record["timeline"]]
    assert after[-3:] == ["queued-natively", "taker-answered", "left-natively"]
    left = record["timeline"][-1]
    assert left["result"] == "answered" and record["taker"] == "taker09"
