"""A 112 call through the real Asterisk 22, the control plane, Redis and SIPp:
greeting, offer to a free call taker at once, two-way audio, teardown from either side,
the record in Redis, and the legacy numbers."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.stack import Process, Stack, place_call, wait_for

pytestmark = pytest.mark.integration

GREETING = Path("/var/cache/ivr112/prompts/ivr112/greeting.wav")
# A call taker is free: the caller is offered at once and the greeting stops at the answer.
FLOW = ["arrived", "answered", "offered", "taker-ringing", "taker-answered", "greeting-stopped", "connected",
        "ended"]  # fmt: skip


def greeting_seconds(stack: Stack) -> float:
    prompts = Path(stack.env.get("IVR_CACHE_DIR", "/var/cache/ivr112")) / "prompts" / "ivr112"
    out = subprocess.run(
        ["soxi", "-D", str(prompts / "greeting.wav")], capture_output=True, text=True, check=True
    )
    return float(out.stdout)


BESIDE_THE_PATH = {"screening-started", "screened", "dtmf", "recording"}  # test_screening, test_recording


def entries(record: dict[str, Any]) -> list[str]:
    """The call-path entries of the timeline (screening runs beside them)."""
    return [item["entry"] for item in record["timeline"] if item["entry"] not in BESIDE_THE_PATH]


def at(record: dict[str, Any], entry: str) -> float:
    return next(item["at"] for item in record["timeline"] if item["entry"] == entry)


def sample_rtp_while_connected(stack: Stack, call_id: str, found: dict[str, Any]) -> None:
    """Runs beside the call: once connected, reads RTP counters of both legs 1 s apart."""
    record = wait_for(lambda: (r := stack.record(call_id)).get("taker_channel") and r, 30, "the taker leg")
    taker_leg = record["taker_channel"]
    stack.wait_entry(call_id, "connected", timeout=5)
    first = {leg: stack.rtp_counts(leg) for leg in (call_id, taker_leg)}
    threading.Event().wait(1.0)
    found["before"], found["after"] = first, {leg: stack.rtp_counts(leg) for leg in (call_id, taker_leg)}
    found["taker_leg"] = taker_leg


def test_caller_reaches_taker_and_hangs_up(
    stack: Stack, control_plane: Callable[..., Process], phones: Callable[..., Process], media: Path
) -> None:
    control_plane(["taker01"])
    phones("taker01", "phone_answers.xml")
    before = stack.call_ids()

    call = place_call(media, "112", hold_ms=12000, caller="081234567890", wait=False)
    call_id = stack.new_call_id(before)
    rtp: dict[str, Any] = {}
    sampler = threading.Thread(target=sample_rtp_while_connected, args=(stack, call_id, rtp))
    sampler.start()
    assert call.popen.wait(timeout=60) == 0, call.output()
    sampler.join(timeout=30)

    record = stack.wait_ended(call_id)
    assert entries(record) == FLOW
    assert record["outcome"] == "answered"
    # the taker answered before the screening budget ran out: the verdict is recorded anyway
    assert record["verdict"] == "normal", record
    assert [e["recording"] for e in record["timeline"] if e["entry"] == "recording"] == [call_id]
    assert record["by"] == "caller"
    assert record["caller"] == "081234567890"
    assert record["dialled"] == "112"
    assert record["taker"] == "taker01"
    # The taker was free: offered at arrival, the greeting cut short when they answered.
    assert at(record, "greeting-stopped") == at(record, "taker-answered")
    assert at(record, "taker-answered") - at(record, "arrived") < greeting_seconds(stack) - 2
    # Audio both ways: each leg received from its party and was sent the other's audio.
    leg = rtp["taker_leg"]
    for channel in (call_id, leg):
        (rx0, tx0), (rx1, tx1) = rtp["before"][channel], rtp["after"][channel]
        assert rx1 - rx0 >= 25, f"{channel} received {rx1 - rx0} RTP packets in 1 s"
        assert tx1 - tx0 >= 25, f"{channel} was sent {tx1 - tx0} RTP packets in 1 s"
    # The caller's hang-up took the call taker's leg down too.
    wait_for(lambda: stack.ari("GET", f"/channels/{leg}")[0] == 404, 5, "the taker leg to be hung up")


def test_taker_hangs_up_first(
    stack: Stack, control_plane: Callable[..., Process], phones: Callable[..., Process], media: Path
) -> None:
    control_plane(["taker02"])
    phones("taker02", "phone_hangs_up.xml", hold_ms=2000)
    before = stack.call_ids()

    # This carrier scenario only passes if Asterisk sends the caller a BYE.
    call = place_call(media, "112", scenario="caller_far_end_hangs_up.xml", caller="0401234567")
    assert call.popen.returncode == 0, call.output()

    record = stack.wait_ended(stack.new_call_id(before))
    assert entries(record) == FLOW
    assert record["outcome"] == "answered"
    assert record["by"] == "taker"
    assert at(record, "ended") - at(record, "connected") == pytest.approx(2.0, abs=0.6)
    assert not [c for c in stack.channels() if c["id"].startswith(record["call_id"])]


@pytest.mark.parametrize("number", ["110", "113", "115", "118", "119"])
def test_legacy_numbers_take_the_112_path(
    stack: Stack, control_plane: Callable[..., Process], media: Path, number: str
) -> None:
    control_plane(["taker01"])
    before = stack.call_ids()
    call = place_call(media, number, hold_ms=1500)
    assert call.popen.returncode == 0, call.output()
    record = stack.wait_ended(stack.new_call_id(before))
    assert record["dialled"] == number
    assert entries(record) == ["arrived", "answered", "ended"]
    assert record["outcome"] == "abandoned-in-greeting"


@pytest.mark.parametrize("number", ["999", "08123456789", "111"])
def test_other_numbers_are_refused(
    stack: Stack, control_plane: Callable[..., Process], media: Path, number: str
) -> None:
    control_plane(["taker01"])
    before = stack.call_ids()
    # rejected.xml passes only on a 404 answer to the INVITE.
    call = place_call(media, number, scenario="rejected.xml")
    assert call.popen.returncode == 0, call.output()
    assert stack.call_ids() == before
