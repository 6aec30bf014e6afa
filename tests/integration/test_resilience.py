"""What happens when the control plane is missing: the dialplan fallback still rings
a call taker, ARI unreachable at start is retried, a crashed control plane's waiting
caller is adopted at the next start, and a deliberate stop hands waiting callers to
the native queue."""

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
