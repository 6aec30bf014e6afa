"""Redis away for 30 s on the real stack: a SIPp call placed meanwhile is answered,
queued and bridged with the call taker as usual; health shows the records held in
memory; when Redis returns the held writes land in order (the call's whole timeline
with its outcome) and the call is archived; nothing is left behind in Asterisk."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.stack import REPO, Process, Stack, place_call, wait_for

pytestmark = pytest.mark.integration
OUTAGE_SECONDS = 30


def redis(stack: Stack, action: str) -> None:
    subprocess.run(["bash", str(REPO / "scripts" / f"redis-{action}.sh")], env=stack.env, check=True)


def our_caller(stack: Stack) -> str | None:
    return next(
        (c["id"] for c in stack.channels() if c["dialplan"]["app_data"].startswith("ivr112,caller")), None
    )


def test_calls_go_on_while_redis_is_away_and_their_records_are_written_back(
    stack: Stack, control_plane: Callable[..., Process], phones: Callable[..., Process], media: Path
) -> None:
    control_plane(["taker08"])
    phones("taker08", "phone_answers.xml")
    redis(stack, "stop")
    down_since = time.monotonic()
    try:
        call = place_call(media, "112", hold_ms=16000, caller="081299911108", wait=False)
        call_id = wait_for(lambda: our_caller(stack), 10, "the caller in the control plane's app")
        wait_for(lambda: stack.taker_leg_up("taker08"), 30, "taker08 answering the call without Redis")
        health = stack.api("GET", "/api/health")[1]
        assert any("records held in memory" in alarm for alarm in health["alarms"]), health
        assert call.popen.wait(timeout=60) == 0, call.output()
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_since)))
    finally:
        redis(stack, "start")

    record = stack.wait_ended(call_id, timeout=15)
    assert record["outcome"] == "answered" and record["taker"] == "taker08"
    entries = [e["entry"] for e in record["timeline"]]
    assert entries[0] == "arrived" and entries[-1] == "ended"
    assert entries.index("taker-answered") < entries.index("connected") < entries.index("ended")
    wait_for(lambda: not stack.api("GET", "/api/health")[1]["alarms"], 10, "the alarm to clear")
    history = wait_for(
        lambda: stack.api("GET", "/api/history?caller=081299911108")[1]["calls"], 10, "the call archived"
    )
    assert history[0]["call_id"] == call_id and history[0]["outcome"] == "answered"
    assert stack.channels() == [] and stack.ari("GET", "/bridges")[1] == []
