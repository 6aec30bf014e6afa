"""The priority ACD on the real stack: 20 phones, callers answered in priority order
with none lost, paused takers never offered, feature codes from the phones, a config
reload under load, statuses surviving a restart, and the API's answers to bad input."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.stack import (
    Process,
    Stack,
    centre_config,
    dial_feature_code,
    place_call,
    place_calls,
    wait_for,
)

pytestmark = pytest.mark.integration

TAKERS = [f"taker{n:02d}" for n in range(1, 21)]
RANK = {"emergency": 0, "normal": 1, "low": 2}


def at(record: dict[str, Any], entry: str) -> float:
    return next(item["at"] for item in record["timeline"] if item["entry"] == entry)


def test_thirty_callers_are_answered_in_priority_order_and_none_is_lost(
    stack: Stack, control_plane: Callable[..., Process], phones: Callable[..., Process], media: Path
) -> None:
    config = centre_config(media, rules={"0899*": "low"}, wrapup_seconds=1)
    control_plane([], IVR_CENTRE_CONFIG=str(config))  # nobody logged in yet: the callers queue
    for taker in TAKERS:
        phones(taker, "phone_hangs_up.xml", hold_ms=3000)
    numbers = [["0401312" + f"{i:03d}", "0812" + f"{i:06d}", "0899" + f"{i:06d}"][i % 3] for i in range(30)]
    before = stack.call_ids()
    callers = place_calls(media, numbers, rate=5)
    wait_for(lambda: len(stack.api("GET", "/api/queue")[1]) == 30, 40, "all 30 callers waiting")

    queue = stack.api("GET", "/api/queue")[1]
    assert [RANK[w["level"]] for w in queue] == sorted(RANK[w["level"]] for w in queue)
    stack.login(*TAKERS)
    assert callers.popen.wait(timeout=120) == 0, callers.output()

    ids = [c for c in stack.call_ids() if c not in before]
    records = [stack.wait_ended(c) for c in ids]
    assert len(records) == 30
    assert {r["outcome"] for r in records} == {"answered"}, [r["outcome"] for r in records]
    by_offer = sorted(records, key=lambda r: at(r, "offered"))
    assert [RANK[r["level"]] for r in by_offer] == sorted(RANK[r["level"]] for r in by_offer)
    # The 10 callers who waited for a second round went to takers freed by the first.
    assert len({r["taker"] for r in records}) == 20


def test_paused_taker_is_never_offered_and_feature_codes_work_from_the_phone(
    stack: Stack, control_plane: Callable[..., Process], phones: Callable[..., Process], media: Path
) -> None:
    control_plane(["taker11", "taker12"])
    phones("taker11", "phone_hangs_up.xml", hold_ms=1000)
    phones("taker12", "phone_hangs_up.xml", hold_ms=1000)

    assert dial_feature_code(stack, "taker11", "*21", media) == 0  # pause, from the phone
    takers = {a["id"]: a for a in stack.api("GET", "/api/takers")[1]}
    assert (takers["taker11"]["declared"], takers["taker11"]["pause_reason"]) == ("paused", "istirahat")

    before = stack.call_ids()
    for caller in ("081111111", "082222222"):
        call = place_call(media, "112", scenario="caller_far_end_hangs_up.xml", caller=caller)
        assert call.popen.returncode == 0, call.output()
    records = [stack.wait_ended(c) for c in stack.call_ids() if c not in before]
    assert [r["taker"] for r in records] == ["taker12", "taker12"]

    assert dial_feature_code(stack, "taker11", "*22", media) == 0  # unpause, from the phone
    takers = {a["id"]: a for a in stack.api("GET", "/api/takers")[1]}
    assert takers["taker11"]["declared"] == "available"
    assert dial_feature_code(stack, "taker11", "*99", media) == 0  # unknown: told, nothing changes
    assert {a["id"]: a for a in stack.api("GET", "/api/takers")[1]}["taker11"]["declared"] == "available"


def test_unanswered_phone_is_skipped_and_its_taker_auto_paused(
    stack: Stack, control_plane: Callable[..., Process], phones: Callable[..., Process], media: Path
) -> None:
    config = centre_config(media, ring_seconds=5, missed_offers_to_pause=1)
    control_plane(["taker13", "taker14"], IVR_CENTRE_CONFIG=str(config))
    phones("taker13", "phone_no_answer.xml")
    phones("taker14", "phone_hangs_up.xml", hold_ms=1000)
    before = stack.call_ids()
    call = place_call(media, "112", scenario="caller_far_end_hangs_up.xml")
    assert call.popen.returncode == 0, call.output()
    record = stack.wait_ended(stack.new_call_id(before))
    assert record["taker"] == "taker14"
    taker13 = {a["id"]: a for a in stack.api("GET", "/api/takers")[1]}["taker13"]
    assert (taker13["declared"], taker13["pause_reason"]) == ("paused", "missed calls")


def nested_aliases(levels: int = 9) -> str:
    """A 'billion laughs' YAML file: each line nine aliases of the one before."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]" for n in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_config_reload_mid_load_drops_nobody_and_a_bad_file_is_refused(
    stack: Stack, control_plane: Callable[..., Process], phones: Callable[..., Process], media: Path
) -> None:
    config = centre_config(media, wrapup_seconds=1)
    app = control_plane([], IVR_CENTRE_CONFIG=str(config))
    for taker in ("taker15", "taker16"):
        phones(taker, "phone_hangs_up.xml", hold_ms=1500)
    before = stack.call_ids()
    callers = place_calls(media, [f"0813{i:06d}" for i in range(8)], rate=4)
    wait_for(lambda: len(stack.api("GET", "/api/queue")[1]) == 8, 30, "8 callers waiting")

    good = config.read_text()
    config.write_text(good.replace("aging_per_second: 1.0", "aging_per_second: oops"))
    status, body = stack.api("POST", "/api/config/reload")
    assert status == 422 and any("aging_per_second" in p for p in body["problems"]), body
    assert len(stack.api("GET", "/api/queue")[1]) == 8

    config.write_text(nested_aliases())  # a few lines that would expand to ~400 million values
    status, body = stack.api("POST", "/api/config/reload")  # refused at once (the client waits 5 s)
    assert status == 422 and any("aliases are not allowed" in p for p in body["problems"]), body
    config.write_text("centre: big\nvalues: [" + "1, " * 100_000 + "1]\n")  # seconds of parsing
    replies: list[object] = []

    def reload_big_file() -> None:
        try:
            replies.append(stack.api("POST", "/api/config/reload", timeout=60))
        except OSError as exc:  # seen in the assertion below
            replies.append(exc)

    reloading = threading.Thread(target=reload_big_file)
    began, slowest = time.monotonic(), 0.0
    reloading.start()
    while reloading.is_alive():  # the event loop goes on serving while the file is parsed
        started = time.monotonic()
        assert stack.api("GET", "/api/health")[0] == 200
        slowest = max(slowest, time.monotonic() - started)
        time.sleep(0.05)
    parsing = time.monotonic() - began
    assert isinstance(replies[0], tuple) and replies[0][0] == 422, replies
    assert parsing > 1.0 and slowest < min(1.0, parsing / 2), (parsing, slowest)  # not stalled by it
    assert len(stack.api("GET", "/api/queue")[1]) == 8

    config.write_text(good.replace("aging_per_second: 1.0", "aging_per_second: 2.0"))
    status, body = stack.api("POST", "/api/config/reload")
    assert status == 200, body
    app.popen.send_signal(signal.SIGHUP)  # the same, from the command line
    wait_for(lambda: app.output().count("configuration applied") >= 2, 5, "the SIGHUP reload")
    assert len(stack.api("GET", "/api/queue")[1]) == 8

    stack.login("taker15", "taker16")
    assert callers.popen.wait(timeout=120) == 0, callers.output()
    records = [stack.wait_ended(c) for c in stack.call_ids() if c not in before]
    assert len(records) == 8 and {r["outcome"] for r in records} == {"answered"}


def test_statuses_survive_a_restart(stack: Stack, control_plane: Callable[..., Process]) -> None:
    first = control_plane(["taker17", "taker18"])
    assert stack.api("POST", "/api/takers/taker18/pause", {"reason": "rapat"})[0] == 200
    first.stop()
    control_plane([], IVR_KEEP_TAKER_STATUS="yes")
    takers = {a["id"]: a for a in stack.api("GET", "/api/takers")[1]}
    assert takers["taker17"]["declared"] == "available"
    assert (takers["taker18"]["declared"], takers["taker18"]["pause_reason"]) == ("paused", "rapat")
    assert takers["taker19"]["declared"] == "logged-out"


def test_api_refuses_bad_requests_with_clear_answers(
    stack: Stack, control_plane: Callable[..., Process]
) -> None:
    control_plane([])
    status, health = stack.api("GET", "/api/health", token="")
    assert status == 200 and health["parts"]["asterisk"]["state"] == "ok", health
    assert set(health["parts"]) == {"asterisk", "ami", "redis", "archive", "recordings", "screening"}
    status, body = stack.api("GET", "/api/takers", token="wrong")
    assert status == 401 and "token" in body["error"]
    status, body = stack.api("POST", "/api/takers/taker99/login")
    assert status == 404 and "taker99" in body["error"]
    status, body = stack.api("POST", "/api/takers/taker01/pause", {"reason": ""})
    assert status == 400 and any("reason" in p for p in body["problems"])
    status, body = stack.api("POST", "/api/takers/taker01/pause", {"why": "x"})
    assert status == 400


def test_caller_overflows_to_the_supervisor_after_the_maximum_wait(
    stack: Stack, control_plane: Callable[..., Process], phones: Callable[..., Process], media: Path
) -> None:
    config = centre_config(media)
    text = config.read_text()
    normal = "  - name: normal           # someone speaking\n    base: 200\n    max_wait_seconds: 120"
    assert normal in text
    config.write_text(text.replace(normal, normal.replace("120", "10")))
    control_plane([], IVR_CENTRE_CONFIG=str(config))  # no call taker logged in: nobody to take it
    phones("supervisor", "phone_hangs_up.xml", hold_ms=1000)
    before = stack.call_ids()
    call = place_call(media, "112", scenario="caller_far_end_hangs_up.xml")
    assert call.popen.returncode == 0, call.output()

    record = stack.wait_ended(stack.new_call_id(before))
    assert record["outcome"] == "overflowed", record
    # The wait counts from the moment the call arrived: the greeting is part of it.
    waited = at(record, "overflowed") - at(record, "arrived")
    assert waited == pytest.approx(10.0, abs=1.0)
    assert record["taker"] == "PJSIP/supervisor"
