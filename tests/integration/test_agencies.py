"""Agencies on the real stack: SIPp as caller, call taker and agencies (fire, ambulance,
BPBD on their loopback addresses). A call taker brings agencies in through the API and
with their phone's keys; audio flows on every leg of the conference; the taker leaves
and caller and agency stay connected; a silent first endpoint falls back to the next;
the caller hanging up ends every agency leg."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration import dtmf_pcap
from tests.integration.stack import Process, Stack, centre_config, place_call, wait_for

pytestmark = pytest.mark.integration


def agency_legs(stack: Stack) -> list[str]:
    return [c["id"] for c in stack.channels() if "-ag" in c["id"]]


def joined_leg(stack: Stack, call_id: str, agency: str) -> str:
    record = stack.record(call_id)
    return next(
        e["channel"] for e in record["timeline"] if e["entry"] == "agency-joined" and e["agency"] == agency
    )


def flowing(stack: Stack, channels: list[str]) -> dict[str, tuple[int, int]]:
    """Received and sent RTP packets of each channel over one second."""
    first = {c: stack.rtp_counts(c) for c in channels}
    threading.Event().wait(1.0)
    last = {c: stack.rtp_counts(c) for c in channels}
    return {c: (last[c][0] - first[c][0], last[c][1] - first[c][1]) for c in channels}


def wait_entries(stack: Stack, call_id: str, entry: str, count: int, timeout: float = 30) -> dict[str, Any]:
    def enough() -> dict[str, Any] | None:
        record = stack.record(call_id)
        return record if sum(e["entry"] == entry for e in record["timeline"]) >= count else None

    return wait_for(enough, timeout, f"{count} '{entry}' entries in call {call_id}")


def test_three_parties_hear_each_other_and_the_taker_can_leave(
    stack: Stack, control_plane: Callable[..., Process], phones: Callable[..., Process], media: Path
) -> None:
    control_plane(["taker01"])
    phones("taker01", "phone_answers.xml")
    phones("damkar", "phone_answers.xml")
    before = stack.call_ids()
    call = place_call(media, "112", hold_ms=30000, caller="081277700001", wait=False)
    call_id = stack.new_call_id(before)
    record = stack.wait_entry(call_id, "connected", timeout=30)
    taker_leg = record["taker_channel"]

    status, body = stack.api("POST", f"/api/calls/{call_id}/agencies", {"agency": "damkar"})
    assert status == 202, body
    stack.wait_entry(call_id, "agency-joined", timeout=20)
    agency_leg = joined_leg(stack, call_id, "damkar")
    rtp = flowing(stack, [call_id, taker_leg, agency_leg])
    assert all(rx > 20 and tx > 20 for rx, tx in rtp.values()), rtp  # audio in and out on every leg

    assert stack.api("POST", f"/api/calls/{call_id}/leave")[0] == 202
    stack.wait_entry(call_id, "taker-left", timeout=10)
    wait_for(lambda: taker_leg not in [c["id"] for c in stack.channels()], 5, "the taker's leg to go")
    rtp = flowing(stack, [call_id, agency_leg])
    assert all(rx > 20 and tx > 20 for rx, tx in rtp.values()), rtp  # caller and agency still talk
    takers = {a["id"]: a for a in stack.api("GET", "/api/takers")[1]}
    assert takers["taker01"]["call_id"] is None and takers["taker01"]["activity"] in ("wrap-up", "idle")

    assert call.popen.wait(timeout=60) == 0, call.output()
    record = stack.wait_ended(call_id)
    assert record["outcome"] == "answered"
    wait_for(lambda: agency_legs(stack) == [], 5, "the agency leg to end with the caller")
    entries = [e["entry"] for e in record["timeline"]]
    for step in ("agency-requested", "agency-ringing", "agency-answered", "agency-joined", "taker-left"):
        assert step in entries, entries


def test_silent_first_endpoint_falls_back_and_two_agencies_join_by_api_and_by_keys(
    stack: Stack,
    control_plane: Callable[..., Process],
    phones: Callable[..., Process],
    media: Path,
    tmp_path: Path,
) -> None:
    config = centre_config(tmp_path)
    text = config.read_text().replace(
        "endpoints: [PJSIP/damkar], ring_seconds: 20",
        "endpoints: [PJSIP/bpbd, PJSIP/damkar], ring_seconds: 5",
    )
    config.write_text(text)
    dtmf_pcap.write(media / "keys.pcap", "*2")  # the taker asks for the ambulance from the phone
    control_plane(["taker02"], IVR_CENTRE_CONFIG=str(config))
    phones("taker02", "phone_presses_keys.xml", hold_ms=3000)
    phones("bpbd", "phone_no_answer.xml")
    phones("damkar", "phone_answers.xml")
    phones("ambulans", "phone_answers.xml")
    before = stack.call_ids()
    call = place_call(media, "112", hold_ms=34000, caller="081277700002", wait=False)
    call_id = stack.new_call_id(before)
    stack.wait_entry(call_id, "connected", timeout=30)
    assert stack.api("POST", f"/api/calls/{call_id}/agencies", {"agency": "damkar"})[0] == 202

    record = wait_entries(stack, call_id, "agency-joined", 2, timeout=40)
    timeline = record["timeline"]
    missed = [e for e in timeline if e["entry"] == "agency-no-answer"]
    assert [(e["agency"], e["endpoint"]) for e in missed] == [("damkar", "PJSIP/bpbd")]
    rung = [(e["agency"], e["endpoint"]) for e in timeline if e["entry"] == "agency-ringing"]
    assert ("damkar", "PJSIP/damkar") in rung and ("ambulans", "PJSIP/ambulans") in rung
    by = {e["agency"]: e["by"] for e in timeline if e["entry"] == "agency-requested"}
    assert by == {"damkar": "operator", "ambulans": "taker02"}  # the signed-in user; the taker's keys
    assert len(agency_legs(stack)) == 2

    assert call.popen.wait(timeout=60) == 0, call.output()
    assert stack.wait_ended(call_id)["outcome"] == "answered"
    wait_for(lambda: agency_legs(stack) == [], 5, "both agency legs to end with the caller")


def test_wrong_agency_requests_get_clear_errors(
    stack: Stack, control_plane: Callable[..., Process], media: Path
) -> None:
    control_plane([])
    before = stack.call_ids()
    call = place_call(media, "112", hold_ms=9000, caller="081277700003", wait=False)
    call_id = stack.new_call_id(before)
    status, body = stack.api("POST", f"/api/calls/{call_id}/agencies", {"agency": "sar"})
    assert status == 400 and "damkar" in body["error"]  # names the known agencies
    status, body = stack.api("POST", f"/api/calls/{call_id}/agencies", {"agency": "damkar"})
    assert status == 409 and "connected" in body["error"]  # nobody has answered yet
    assert stack.api("POST", f"/api/calls/{call_id}/leave")[0] == 409
    assert stack.api("POST", "/api/calls/nope/agencies", {"agency": "damkar"})[0] == 404
    assert stack.api("POST", f"/api/calls/{call_id}/agencies", {})[0] == 400  # no agency named
    call.popen.wait(timeout=60)


def test_configured_so_agencies_stay_with_the_taker_after_the_caller_hangs_up(
    stack: Stack,
    control_plane: Callable[..., Process],
    phones: Callable[..., Process],
    media: Path,
    tmp_path: Path,
) -> None:
    config = centre_config(tmp_path)
    text = config.read_text().replace(
        "agency_legs_end_with_caller: true", "agency_legs_end_with_caller: false"
    )
    config.write_text(text)
    control_plane(["taker03"], IVR_CENTRE_CONFIG=str(config))
    # The caller talks long enough for the police to join (greeting, offer, ring and
    # announcement take some 13 s on a busy machine), then hangs up well before the taker.
    taker = phones("taker03", "phone_hangs_up.xml", hold_ms=30000)
    phones("polisi", "phone_answers.xml")
    before = stack.call_ids()
    call = place_call(media, "112", hold_ms=20000, caller="081277700004", wait=False)
    call_id = stack.new_call_id(before)
    stack.wait_entry(call_id, "connected", timeout=30)
    assert stack.api("POST", f"/api/calls/{call_id}/agencies", {"agency": "polisi"})[0] == 202
    stack.wait_entry(call_id, "agency-joined", timeout=20)
    assert call.popen.wait(timeout=60) == 0, call.output()  # the caller hangs up
    record = stack.wait_entry(call_id, "caller-left", timeout=10)
    assert "outcome" not in record and len(agency_legs(stack)) == 1  # police and taker still talk
    record = stack.wait_ended(call_id, timeout=30)  # until the taker hangs up
    assert record["outcome"] == "answered" and record["by"] == "taker"
    wait_for(lambda: agency_legs(stack) == [], 5, "the police leg to end with the taker")
    assert taker.alive()
