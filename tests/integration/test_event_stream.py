"""A dispatch system subscribed to GET /api/v1/events while a SIPp call goes through the
real Asterisk 22 and the control plane: it hears the call arrive, get answered and end,
in that order, with the caller's number, the verdict and the outcome of the record; a
call the native queue took while no control plane ran reaches a subscriber who comes
back after the restart."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.stack import Process, Stack, place_call

pytestmark = pytest.mark.integration


def subscribe(
    stack: Stack, opened: threading.Event, events: list[dict[str, Any]], last_id: str | None = None
) -> None:
    """Reads the stream until a call has ended (or the read times out); `last_id`: the
    cursor of a subscriber coming back."""
    request = urllib.request.Request(f"http://127.0.0.1:{stack.api_port}/api/v1/events")
    request.add_header("Authorization", f"Bearer {stack.api_token}")
    if last_id is not None:
        request.add_header("Last-Event-ID", last_id)
    with urllib.request.urlopen(request, timeout=60) as stream:
        assert stream.headers["Content-Type"] == "text/event-stream"
        fields: dict[str, str] = {}
        for raw in stream:
            opened.set()
            line = raw.decode().rstrip("\n")
            if line.startswith(":"):
                continue
            if line:
                name, _, value = line.partition(": ")
                fields[name] = value
                continue
            if "event" in fields:
                events.append(
                    {"id": fields.get("id"), "event": fields["event"], **json.loads(fields["data"])}
                )
                if fields["event"] == "call-ended":
                    return
            fields = {}


def test_a_subscriber_hears_a_real_call_arrive_be_answered_and_end(
    stack: Stack, control_plane: Callable[..., Process], phones: Callable[..., Process], media: Path
) -> None:
    control_plane(["taker01"])
    phones("taker01", "phone_answers.xml")
    opened, events = threading.Event(), list[dict[str, Any]]()
    reader = threading.Thread(target=subscribe, args=(stack, opened, events))
    reader.start()
    assert opened.wait(10), "the event stream did not open"
    before = stack.call_ids()

    call = place_call(media, "112", hold_ms=3000, caller="081234567891", wait=False)
    call_id = stack.new_call_id(before)
    assert call.popen.wait(timeout=60) == 0, call.output()
    record = stack.wait_ended(call_id)
    reader.join(timeout=30)

    mine = [e for e in events if e["call"] == call_id]
    path = [e["event"] for e in mine if e["event"] != "verdict"]  # screening runs beside the path
    assert path == ["call-arrived", "call-answered", "call-ended"], events
    verdicts = [e["verdict"] for e in mine if e["event"] == "verdict"]
    assert verdicts == ([record["verdict"]] if record.get("verdict") else []), events
    assert {e["caller"] for e in mine} == {"081234567891"}
    assert mine[1]["taker"] == "taker01"
    assert mine[2]["outcome"] == record["outcome"] == "answered"
    sequences = [int(e["id"].rpartition("-")[2]) for e in mine]
    assert sequences == sorted(sequences)


def test_a_call_the_native_queue_took_reaches_a_subscriber_coming_back_after_the_restart(
    stack: Stack, control_plane: Callable[..., Process], media: Path
) -> None:
    before = stack.call_ids()
    call = place_call(media, "112", hold_ms=3000, caller="081234567892")  # no control plane: native
    assert call.popen.returncode == 0, call.output()
    assert stack.call_ids() == before

    control_plane([])
    opened, events = threading.Event(), list[dict[str, Any]]()
    reader = threading.Thread(target=subscribe, args=(stack, opened, events, "0bad0bad-7"))
    reader.start()
    assert opened.wait(10), "the event stream did not open"
    reader.join(timeout=45)

    assert events and events[0]["event"] == "gap", events  # its cursor is from another process
    native = [e for e in events if e.get("caller") == "081234567892"]
    assert [e["event"] for e in native] == ["call-arrived", "call-ended"], events
    assert native[-1]["by"] == "native queue" and native[-1]["outcome"] == "abandoned-in-greeting"
