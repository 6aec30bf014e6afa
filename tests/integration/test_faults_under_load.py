"""Faults during a bounded load on the real stack (6 call takers, 12 SIPp callers at
1/s): the ARI events WebSocket cut again and again, and the control plane killed
(SIGKILL) and restarted; and Asterisk itself restarted under a connected call. Each
time every caller still reaches a call taker and has a record with a named outcome
("lost" would be either missing), and nothing is left behind once the calls are over:
no channel or bridge in Asterisk, no screening, RTP port or recognizer held."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.fault_proxy import FaultProxy
from tests.integration.stack import REPO, Process, Stack, centre_config, place_call, place_calls, wait_for

pytestmark = pytest.mark.integration
TAKERS = [f"taker{n:02d}" for n in range(1, 7)]
CALLS = 12
PROXY_PORT = 8098


def nothing_left(stack: Stack) -> None:
    """No channel or bridge in Asterisk; no screening, RTP port or recognizer held."""
    wait_for(lambda: stack.channels() == [], 15, "no channel left in Asterisk")
    wait_for(lambda: stack.ari("GET", "/bridges")[1] == [], 15, "no bridge left in Asterisk")
    held = stack.api("GET", "/api/screening")[1]
    assert held["sessions"] == [] and held["rtp_ports_in_use"] == [], held
    assert held["recognizers"] is None or held["recognizers"]["busy"] == 0, held


def test_no_caller_is_lost_while_the_events_websocket_is_cut_repeatedly(
    stack: Stack, control_plane: Callable[..., Process], phones: Callable[..., Process], media: Path
) -> None:
    proxy = FaultProxy(PROXY_PORT, 8088)
    stop_cutting = threading.Event()
    try:
        config = centre_config(media, wrapup_seconds=1)
        app = control_plane(
            TAKERS,
            IVR_CENTRE_CONFIG=str(config),
            IVR_ARI_URL=f"http://127.0.0.1:{PROXY_PORT}",
            IVR_RECONNECT_MAX_SECONDS="2",
        )
        wait_for(lambda: "reconciled:" in app.output(), 15, "the control plane connected through the proxy")
        stack.login(*TAKERS)
        for taker in TAKERS:
            phones(taker, "phone_hangs_up.xml", hold_ms=4000)

        def cutter() -> None:
            while not stop_cutting.wait(2.5):
                proxy.cut_events()

        threading.Thread(target=cutter, daemon=True).start()
        before = stack.call_ids()
        callers = place_calls(media, [f"0814{i:06d}" for i in range(CALLS)], rate=1)
        assert callers.popen.wait(timeout=150) == 0, callers.output()
        stop_cutting.set()
        assert proxy.cuts >= 5, f"only {proxy.cuts} cuts happened"

        ids = [c for c in stack.call_ids() if c not in before]
        records = [stack.wait_ended(c, timeout=30) for c in ids]
        assert len(records) == CALLS
        assert [r["outcome"] for r in records] == ["answered"] * CALLS
        assert all(r["taker"] in TAKERS for r in records)
        nothing_left(stack)
        assert app.output().count("reconciled:") >= 5
    finally:
        stop_cutting.set()
        proxy.stop()


def test_no_caller_is_lost_when_the_control_plane_is_killed_and_restarted_during_load(
    stack: Stack, control_plane: Callable[..., Process], phones: Callable[..., Process], media: Path
) -> None:
    config = centre_config(media, wrapup_seconds=1)
    first = control_plane(TAKERS, IVR_CENTRE_CONFIG=str(config))
    for taker in TAKERS:
        phones(taker, "phone_hangs_up.xml", hold_ms=4000)
    before = stack.call_ids()
    callers = place_calls(media, [f"0815{i:06d}" for i in range(CALLS)], rate=1)
    wait_for(lambda: len([c for c in stack.call_ids() if c not in before]) >= 5, 20, "five calls in")
    first.stop(signal.SIGKILL)  # a crash in the middle of the load
    time.sleep(2)
    second = control_plane(TAKERS, IVR_CENTRE_CONFIG=str(config), IVR_KEEP_TAKER_STATUS="yes")
    assert callers.popen.wait(timeout=150) == 0, callers.output()

    ids = [c for c in stack.call_ids() if c not in before]
    records = [stack.wait_ended(c, timeout=30) for c in ids]
    assert len(records) == CALLS, f"{len(records)} of {CALLS} calls have a record"
    assert [r["outcome"] for r in records] == ["answered"] * CALLS
    assert "adopting call" in second.output()
    nothing_left(stack)


def test_after_asterisk_restarts_the_control_plane_reconnects_and_forgets_the_calls_it_lost(
    stack: Stack, control_plane: Callable[..., Process], phones: Callable[..., Process], media: Path
) -> None:
    app = control_plane(["taker03"], IVR_RECONNECT_MAX_SECONDS="2")
    phones("taker03", "phone_answers.xml")
    before = stack.call_ids()
    call = place_call(media, "112", hold_ms=60000, caller="081277700003", wait=False)
    call_id = stack.new_call_id(before)
    stack.wait_entry(call_id, "connected", timeout=30)

    for script in ("asterisk-stop.sh", "asterisk-start.sh"):  # every channel goes with it
        subprocess.run(["bash", str(REPO / "scripts" / script)], env=stack.env, check=True)
    call.stop()
    record = stack.wait_ended(call_id, timeout=30)  # reconciled: a named outcome, not a stuck call
    assert record["outcome"] == "answered"
    wait_for(lambda: app.output().count("reconciled:") >= 2, 30, "the control plane reconnected")
    assert stack.api("GET", "/api/health")[1]["calls"] == 0
    taker = next(a for a in stack.api("GET", "/api/takers")[1] if a["id"] == "taker03")
    assert taker["activity"] in ("idle", "wrap-up") and taker["call_id"] is None

    wait_for(  # the same SIPp phone, qualified by the new Asterisk
        lambda: next(a for a in stack.api("GET", "/api/takers")[1] if a["id"] == "taker03")["reachable"],
        15,
        "taker03 reachable again",
    )
    before = stack.call_ids()
    again = place_call(media, "112", hold_ms=12000, caller="081277700004")
    assert again.popen.returncode == 0, again.output()
    assert stack.wait_ended(stack.new_call_id(before))["outcome"] == "answered"
    nothing_left(stack)
