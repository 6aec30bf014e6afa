"""A free call taker hears the caller within seconds (real Asterisk, control plane, SIPp):
the caller is offered at arrival, the greeting stops at the bridge (checked on the RTP the
caller was sent, as the wire saw it), and screening's verdict reaches the record later;
with every call taker busy, callers hear the whole greeting and wait in priority order."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.loopback_sniffer import Datagram, LoopbackSniffer, rtp_payload
from tests.integration.stack import (
    ASTERISK_SIP,
    CARRIER_IP,
    Process,
    Stack,
    centre_config,
    place_call,
)
from tests.integration.test_call_path import greeting_seconds

pytestmark = pytest.mark.integration

LOUD_RMS = 300.0  # of 32768: a spoken prompt is well above, A-law silence is about 8


def alaw_rms(payload: bytes) -> float:
    """The loudness of G.711 A-law audio (decoded per ITU-T G.711)."""
    total = 0
    for byte in payload:
        value = byte ^ 0x55
        mantissa, exponent = value & 0x0F, (value & 0x70) >> 4
        sample = (mantissa << 4) + 8 if exponent == 0 else ((mantissa << 4) + 0x108) << (exponent - 1)
        total += sample * sample
    return (total / max(1, len(payload))) ** 0.5


def at(record: dict[str, Any], entry: str) -> float:
    return next(item["at"] for item in record["timeline"] if item["entry"] == entry)


def entries(record: dict[str, Any]) -> list[str]:
    return [item["entry"] for item in record["timeline"]]


def invite_sent(wire: LoopbackSniffer) -> Datagram:
    host, port = ASTERISK_SIP.split(":")
    return next(
        d for d in wire.to(host, int(port)) if d.src[0] == CARRIER_IP and d.payload.startswith(b"INVITE")
    )


def audio_to_caller(wire: LoopbackSniffer) -> list[tuple[float, float]]:
    """(when, loudness) of every RTP packet Asterisk sent the carrier's caller."""
    out = []
    for datagram in wire.to(CARRIER_IP):
        payload = rtp_payload(datagram) if datagram.src[1] != 5060 else None
        if payload:
            out.append((datagram.at, alaw_rms(payload)))
    return out


def test_a_free_taker_is_bridged_within_seconds_the_greeting_stops_and_the_verdict_follows(
    stack: Stack, control_plane: Callable[..., Process], phones: Callable[..., Process], media: Path
) -> None:
    control_plane(["taker01"])
    phones("taker01", "phone_answers_after_1s_silent.xml")  # rings 1 s, then answers
    before = stack.call_ids()
    with LoopbackSniffer() as wire:
        call = place_call(media, "112", hold_ms=10000, wait=False)  # the caller speaks throughout
        call_id = stack.new_call_id(before)
        stack.wait_entry(call_id, "connected", timeout=10)
        assert call.popen.wait(timeout=60) == 0, call.output()
    record = stack.wait_ended(call_id)

    invite = invite_sent(wire).at
    connected, answered = at(record, "connected"), at(record, "taker-answered")
    assert connected - invite <= 1.5, f"bridged {connected - invite:.2f} s after the INVITE"
    assert answered - at(record, "taker-ringing") >= 0.9  # the phone did ring its second
    # the record's arrival is the INVITE's (Asterisk's channel time, in ms; the witness reads a little late)
    assert abs(at(record, "arrived") - invite) < 0.05
    path = [e for e in entries(record) if e not in {"screening-started", "recording", "screened"}]
    assert path == ["arrived", "answered", "offered", "taker-ringing", "taker-answered",
                    "greeting-stopped", "connected", "ended"]  # fmt: skip

    # The greeting was playing until the answer, and the caller was sent none of it after.
    sent = audio_to_caller(wire)
    greeting = [when for when, rms in sent if when < answered and rms > LOUD_RMS]
    assert len(greeting) >= 10, f"only {len(greeting)} loud packets of greeting before the answer"
    after = [
        (round(when - connected, 2), round(rms))
        for when, rms in sent
        if when > connected + 0.1 and rms > LOUD_RMS
    ]
    assert not after, f"the caller was sent loud audio after the bridge (s after, rms): {after[:10]}"

    # Screening listened on with the taker on the line: its verdict came after the bridge.
    assert record["verdict"] == "normal", record
    assert at(record, "screened") > connected
    assert record["outcome"] == "answered" and record["taker"] == "taker01"


def test_with_every_taker_busy_callers_hear_the_whole_greeting_and_wait_in_priority_order(
    stack: Stack, control_plane: Callable[..., Process], phones: Callable[..., Process], media: Path
) -> None:
    config = centre_config(media, rules={"0899*": "emergency"}, wrapup_seconds=0)
    control_plane(["taker01"], IVR_CENTRE_CONFIG=str(config))
    phones("taker01", "phone_answers.xml")  # stays until the caller hangs up
    before = stack.call_ids()
    first = place_call(media, "112", hold_ms=12000, caller="081200000001", wait=False, port=5061)
    first_id = stack.new_call_id(before)
    stack.wait_entry(first_id, "connected", timeout=10)
    busy = stack.call_ids()
    normal = place_call(media, "112", hold_ms=30000, caller="081200000002", wait=False, port=5062)
    normal_id = stack.new_call_id(busy)
    after_normal = stack.call_ids()
    urgent = place_call(media, "112", hold_ms=18000, caller="089900000003", wait=False, port=5063)
    urgent_id = stack.new_call_id(after_normal)
    for process in (first, normal, urgent):
        assert process.popen.wait(timeout=90) == 0, process.output()
    records = {c: stack.wait_ended(c) for c in (first_id, normal_id, urgent_id)}

    full = greeting_seconds(stack) - 0.2
    for call_id in (normal_id, urgent_id):  # taker01 was busy: the whole greeting, then the line
        record = records[call_id]
        assert at(record, "greeting-done") - at(record, "answered") >= full, entries(record)
        assert at(record, "offered") >= at(record, "greeting-done"), entries(record)
        assert "greeting-stopped" not in entries(record)
    # The emergency caller arrived later, and was offered first when taker01 was free again.
    assert at(records[urgent_id], "arrived") > at(records[normal_id], "arrived")
    assert at(records[urgent_id], "offered") < at(records[normal_id], "offered")
    assert records[urgent_id]["level"] == "emergency" and records[normal_id]["level"] == "normal"
