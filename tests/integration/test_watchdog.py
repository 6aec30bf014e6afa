"""The watchdog on the real stack: callers stranded in Stasis when the control plane dies
(kill -9, nothing restarting it) or hangs (SIGSTOP) reach a call taker's phone through
the native queue within the grace time plus 2 s, nothing of the application is left
behind, the records say who handed them over, and a control plane started again later
takes none of them back; a control plane restarted within the grace time adopts its
callers as before and the watchdog does nothing; a control plane that wakes up after the
hand-over lets its callers go without a fight."""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ivr.adapters.watchdog_status import read_status
from tests.integration.stack import REPO, Process, Stack, place_calls, wait_for

pytestmark = pytest.mark.integration

GRACE = 5.0


class Watchdog:
    def __init__(self, process: Process, status_file: Path) -> None:
        self.process = process
        self.status_file = status_file

    def status(self) -> dict[str, Any]:
        return read_status(self.status_file) or {}


@pytest.fixture
def watchdog(stack: Stack, tmp_path: Path) -> Iterator[Watchdog]:
    state = Path(stack.env["IVR_STATE_DIR"])
    status_file = tmp_path / "watchdog.json"
    env = {
        **stack.env,
        "IVR_WATCHDOG_AMI_PASSWORD": (state / "secrets" / "watchdog_ami_password").read_text().strip(),
        "IVR_WATCHDOG_HEALTH_URL": f"http://127.0.0.1:{stack.api_port}/api/health",
        "IVR_WATCHDOG_STATUS": str(status_file),
        "IVR_WATCHDOG_GRACE_SECONDS": str(GRACE),
        "IVR_REDIS_URL": f"redis://127.0.0.1:{stack.redis_port}/0",
    }
    process = Process([sys.executable, "-m", "ivr", "watchdog"], tmp_path / "watchdog.log", env=env, cwd=REPO)
    found = Watchdog(process, status_file)
    try:
        yield found
    finally:
        process.stop()


def our_callers(stack: Stack) -> list[dict[str, Any]]:
    return [c for c in stack.channels() if c["dialplan"]["app_data"].startswith("ivr112,caller")]


def takers_ringing(stack: Stack) -> set[str]:
    """The call takers whose phones the native queue rings (or who answered)."""
    return {c["name"].split("-")[0] for c in stack.channels() if c["name"].startswith("PJSIP/taker")}


def callers_waiting(stack: Stack, count: int, before: list[str]) -> list[str]:
    """The new calls, once `count` of them are in the control plane and one is queued."""

    def ready() -> list[str] | None:
        new = [c for c in stack.call_ids() if c not in before]
        queued = stack.api("GET", "/api/queue")[1] or []
        return new if len(new) == count and len(our_callers(stack)) == count and queued else None

    return wait_for(ready, 40, f"{count} callers in the control plane, one of them queued")


def nothing_left(stack: Stack) -> bool:
    return stack.channels() == [] and stack.ari("GET", "/bridges")[1] == []


def start(control_plane: Callable[..., Process], watchdog: Watchdog, status_file: Path) -> Process:
    app = control_plane([], IVR_WATCHDOG_STATUS=str(status_file))
    wait_for(
        lambda: watchdog.status().get("control_plane") == "up", 15, "the watchdog to see the control plane"
    )
    return app


def test_callers_of_a_dead_control_plane_reach_a_taker_through_the_native_queue(
    stack: Stack, control_plane: Callable[..., Process], phones: Callable[..., Process], media: Path,
    watchdog: Watchdog,
) -> None:  # fmt: skip
    app = start(control_plane, watchdog, watchdog.status_file)  # nobody logged in: callers wait
    for taker in ("taker01", "taker02", "taker03"):
        phones(taker, "phone_hangs_up.xml", hold_ms=4000)
    before = stack.call_ids()
    callers = place_calls(media, ["081255500001", "081255500002", "081255500003"], rate=0.5)
    calls = callers_waiting(stack, 3, before)  # one queued, the others still in their greeting

    app.popen.kill()  # and nothing restarts it
    killed = time.monotonic()
    wait_for(lambda: len(takers_ringing(stack)) == 3, GRACE + 2, "every caller ringing a taker natively")
    assert time.monotonic() - killed >= GRACE - 0.5  # not before the grace time: a restart could adopt
    assert our_callers(stack) == []  # none left in Stasis
    back = control_plane([], IVR_WATCHDOG_STATUS=str(watchdog.status_file))  # started again later
    assert "reconciled: 0 calls tracked, 0 adopted" in back.output()  # it takes back none of them

    assert callers.popen.wait(timeout=60) == 0, callers.output()  # talked, then the takers hung up
    wait_for(lambda: nothing_left(stack), 15, "no channel or bridge left")
    for call_id in calls:
        record = stack.record(call_id)
        assert record["outcome"] == "handed-to-fallback", record
        entries = [e["entry"] for e in record["timeline"]]
        assert entries[-2:] == ["handed-over", "ended"] and entries.count("ended") == 1, entries
    assert watchdog.status()["last_handover"]["callers"] == 3
    assert "ALARM control plane gone" in watchdog.process.output()


def test_a_control_plane_restarted_within_the_grace_time_adopts_and_the_watchdog_does_nothing(
    stack: Stack, control_plane: Callable[..., Process], phones: Callable[..., Process], media: Path,
    watchdog: Watchdog,
) -> None:  # fmt: skip
    app = start(control_plane, watchdog, watchdog.status_file)
    phones("taker04", "phone_hangs_up.xml", hold_ms=3000)
    before = stack.call_ids()
    callers = place_calls(media, ["081255500011", "081255500012"], rate=1)
    calls = callers_waiting(stack, 2, before)

    app.popen.kill()
    killed = time.monotonic()
    time.sleep(1.0)
    control_plane(["taker04"], IVR_WATCHDOG_STATUS=str(watchdog.status_file))  # adopts, then offers
    assert time.monotonic() - killed < GRACE
    time.sleep(max(0.0, GRACE + 1.5 - (time.monotonic() - killed)))  # past the grace time
    assert watchdog.status().get("last_handover") is None
    assert "ALARM" not in watchdog.process.output()

    assert callers.popen.wait(timeout=90) == 0, callers.output()
    for call_id in calls:
        record = stack.wait_ended(call_id, timeout=20)
        assert record["outcome"] == "answered" and record["taker"] == "taker04", record
        assert any(e["entry"] == "adopted" for e in record["timeline"])


def test_a_hung_control_plane_is_relieved_and_lets_go_when_it_wakes(
    stack: Stack, control_plane: Callable[..., Process], phones: Callable[..., Process], media: Path,
    watchdog: Watchdog,
) -> None:  # fmt: skip
    app = start(control_plane, watchdog, watchdog.status_file)
    for taker in ("taker05", "taker06"):
        phones(taker, "phone_hangs_up.xml", hold_ms=6000)
    before = stack.call_ids()
    callers = place_calls(media, ["081255500021", "081255500022"], rate=1)
    calls = callers_waiting(stack, 2, before)

    app.popen.send_signal(signal.SIGSTOP)
    stopped = time.monotonic()
    try:
        wait_for(lambda: len(takers_ringing(stack)) == 2, GRACE + 2, "both callers ringing a taker natively")
        assert time.monotonic() - stopped >= GRACE - 0.5
        assert our_callers(stack) == []
    finally:
        app.popen.send_signal(signal.SIGCONT)

    # Awake again, it ends its calls as handed over and leaves the conversations alone.
    for call_id in calls:
        record = stack.wait_ended(call_id, timeout=15)
        assert record["outcome"] == "handed-to-fallback", record
        assert [e["entry"] for e in record["timeline"]].count("ended") == 1
    wait_for(lambda: "ended: handed-to-fallback" in app.output(), 10, "the control plane to let its calls go")

    def talking() -> bool:  # both takers answer (the phones ring 0.5 s) and talk with their caller
        takers = [c for c in stack.channels() if c["name"].startswith("PJSIP/taker") and c["state"] == "Up"]
        return (
            len(takers) == 2
            and len([c for c in stack.channels() if c["name"].startswith("PJSIP/carrier")]) == 2
        )

    wait_for(talking, 5, "both takers talking with their callers")
    time.sleep(1.0)
    assert talking(), stack.channels()  # and nobody cut them off
    health = stack.api("GET", "/api/health")[1]
    assert health["ari"] == "connected" and health["watchdog"]["last_handover"]["callers"] == 2
    assert any("the watchdog handed 2 callers" in alarm for alarm in health["alarms"]), health
    assert callers.popen.wait(timeout=60) == 0, callers.output()
    for taker in ("taker05", "taker06"):
        errors = media / f"{taker}_errors.log"
        assert not errors.exists() or "Aborting call" not in errors.read_text(), errors.read_text()
    wait_for(lambda: nothing_left(stack), 15, "no channel or bridge left")
