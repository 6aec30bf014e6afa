"""A withheld number ("Privacy: id" from the operator's trunk) on the real stack: the
number is kept in the record, but a call taker finds its digits at no exit: the REST
replies (call record, callback list, callback start 202 and 409, the callback's own
record), the live WebSocket feed (including the desk's list of earlier calls), the SIP
INVITEs their phone receives (a callback, a call, a native-queue handover, a call
adopted after a crash), the control plane's log (at DEBUG, with ARI event dumps) and
Asterisk's log folder (with a verbose channel catching every dialplan application's
arguments). A pause reason carrying a forged log line is escaped onto one line."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.integration.stack import (
    ASTERISK_ROOT,
    ASTERISK_SIP,
    CARRIER_IP,
    SIPP_DIR,
    Process,
    Stack,
    centre_config,
    users_file,
    wait_for,
)

pytestmark = pytest.mark.integration

NUMBER = "085799140001"  # the withheld caller's number, P-Asserted-Identity of the trunk
DIGITS = NUMBER[1:]  # what must be found nowhere (also catches +62 forms)
OPERATOR_IP = "127.0.0.3"  # the indosat trunk
TOKENS = {"taker01": "taker01-withheld-token-1", "sup": "supervisor-withheld-tok1"}
LOG_FOLDER = ASTERISK_ROOT / "var/log/asterisk"
VERBOSE_LOG = "ivr112-withheld-test.log"  # an extra Asterisk logger channel, this test only
FORGED = "makan\n2031-01-01 12:00:00,000 ERROR ivr: FAKE line"


def users(folder: Path) -> Path:
    return users_file(folder, {"taker01": (TOKENS["taker01"], "call-taker", "taker01"),
                               "sup": (TOKENS["sup"], "supervisor", "")})  # fmt: skip


def withheld_call(folder: Path, label: str, port: int, hold_ms: int = 15000) -> Process:
    """The operator's trunk places one call from NUMBER with Privacy: id."""
    args = ["sipp", ASTERISK_SIP, "-sf", str(SIPP_DIR / "caller_operator.xml"), "-s", "112",
            "-i", OPERATOR_IP, "-p", str(port), "-mi", OPERATOR_IP, "-mp", str(6000 + 10 * (port - 5060)),
            "-key", "caller", "0811000002", "-key", "pai", NUMBER, "-key", "privacy", "id",
            "-m", "1", "-d", str(hold_ms), "-nostdin", "-timeout", "90", "-timeout_error",
            "-trace_err", "-error_file", str(folder / f"{label}_errors.log")]  # fmt: skip
    return Process(args, folder / f"{label}.out", cwd=folder)


def callee(folder: Path) -> Process:
    """The withheld caller's own phone, reached through the carrier trunk: answers, hangs up after 4 s."""
    args = ["sipp", "-sf", str(SIPP_DIR / "phone_hangs_up.xml"), "-i", CARRIER_IP, "-p", "5060",
            "-mi", CARRIER_IP, "-mp", "6600", "-m", "1", "-d", "4000", "-nostdin", "-trace_err",
            "-error_file", str(folder / "callee_errors.log")]  # fmt: skip
    return Process(args, folder / "callee.out", cwd=folder)


def asterisk(command: str) -> str:
    done = subprocess.run(["chroot", str(ASTERISK_ROOT), "asterisk", "-rx", command],
                          capture_output=True, text=True, timeout=20, check=False)  # fmt: skip
    return done.stdout


@pytest.fixture
def asterisk_logs() -> Iterator[Callable[[], dict[str, str]]]:
    """What Asterisk writes to its log folder during the test (every file, from its size at the
    start). verbose_on() adds a channel at verbose 5 (every dialplan application's expanded
    arguments); it raises every file's verbosity, so it is turned on after the callback (at
    verbose 3 Asterisk logs a dial string, the callback's number included: the shipped
    logger stays at verbose 2)."""
    sizes = {p.name: p.stat().st_size for p in LOG_FOLDER.iterdir() if p.is_file()}
    (LOG_FOLDER / VERBOSE_LOG).unlink(missing_ok=True)

    def written() -> dict[str, str]:
        out = {}
        for path in (p for p in LOG_FOLDER.rglob("*") if p.is_file()):
            with path.open("rb") as f:
                f.seek(sizes.get(path.name, 0) if path.parent == LOG_FOLDER else 0)
                out[str(path.relative_to(LOG_FOLDER))] = f.read().decode(errors="replace")
        return out

    yield written
    asterisk(f"logger remove channel {VERBOSE_LOG}")
    (LOG_FOLDER / VERBOSE_LOG).unlink(missing_ok=True)


async def _feed(stack: Stack, token: str) -> dict[str, Any]:
    url = f"http://127.0.0.1:{stack.api_port}/api/live"
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        await ws.send_str(json.dumps({"token": token}))
        return json.loads((await ws.receive(timeout=10)).data)


def desk(stack: Stack) -> tuple[dict[str, Any], str]:
    """The call taker's live feed snapshot, and its text as it went over the wire."""
    snapshot = asyncio.run(_feed(stack, TOKENS["taker01"]))
    return snapshot, json.dumps(snapshot)


def as_taker(stack: Stack, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, str]:
    status, reply = stack.api(method, path, body, token=TOKENS["taker01"])
    return status, json.dumps(reply)


def new_call(stack: Stack, before: list[str]) -> str:
    return stack.new_call_id(before, timeout=20)


def verbose_on() -> None:
    asterisk(f"logger add channel {VERBOSE_LOG} notice,warning,error,verbose(5)")


def test_a_call_taker_finds_a_withheld_number_at_no_exit(
    stack: Stack,
    control_plane: Callable[..., Process],
    phones: Callable[..., Process],
    media: Path,
    tmp_path: Path,
    asterisk_logs: Callable[[], dict[str, str]],
) -> None:
    centre = centre_config(tmp_path, wrapup_seconds=2)
    app = control_plane([], IVR_USERS_FILE=str(users(tmp_path)), IVR_LOG_LEVEL="DEBUG",
                        IVR_CENTRE_CONFIG=str(centre))  # fmt: skip
    seen: list[tuple[str, str]] = []  # (exit, what a call taker got there)

    # 1. Nobody logged in: the withheld caller gives up in the queue.
    before = stack.call_ids()
    first = withheld_call(media, "withheld_1", 5063)
    abandoned = new_call(stack, before)
    assert stack.wait_ended(abandoned, timeout=60)["outcome"].startswith("abandoned")
    kept = stack.record(abandoned)
    assert kept["caller"] == NUMBER and kept["withheld"] == "yes"  # kept for supervisors and the callback
    assert first.popen.wait(timeout=30) == 0, first.output()

    listed = wait_for(
        lambda: (r := as_taker(stack, "GET", "/api/callbacks")) and abandoned in r[1] and r, 15, "the list"
    )
    assert listed[0] == 200 and '"caller": "anonymous"' in listed[1]
    seen += [("GET /api/callbacks", listed[1]), ("GET /api/calls (not theirs)",
             as_taker(stack, "GET", f"/api/calls/{abandoned}")[1])]  # fmt: skip

    # 2. The call taker calls the withheld caller back: the phone rings, the callee answers.
    phone = phones("taker01", "phone_answers.xml")
    stack.login("taker01")
    answering = callee(media)
    status, started = as_taker(stack, "POST", f"/api/callbacks/{abandoned}", {"taker": "taker01"})
    assert status == 202 and '"number": "anonymous"' in started, started
    status, again = as_taker(stack, "POST", f"/api/callbacks/{abandoned}", {"taker": "taker01"})
    assert status == 409 and "anonymous is being called back already" in again, again
    seen += [("POST /api/callbacks 202", started), ("POST /api/callbacks 409", again)]
    callback = f"{abandoned}-cb1"
    stack.wait_entry(callback, "callee-answered", timeout=30)
    seen.append(("live feed during the callback", desk(stack)[1]))
    assert stack.wait_ended(callback, timeout=30)["outcome"] == "callback-reached"
    assert answering.popen.wait(timeout=20) == 0, answering.output()
    dialled = [e for e in stack.record(callback)["timeline"] if e["entry"] == "dialling"]
    assert dialled[0]["number"] == NUMBER  # the callback's record keeps it (supervisors) ...
    status, record = as_taker(stack, "GET", f"/api/calls/{callback}")
    assert status == 200 and '"withheld": "yes"' in record and '"caller": "anonymous"' in record
    seen.append(("GET /api/calls/<callback>", record))  # ... and the call taker's view masks it

    # 3. The same withheld caller calls again and reaches the call taker: no earlier-calls list.
    verbose_on()
    before = stack.call_ids()
    second = withheld_call(media, "withheld_2", 5065)
    answered = new_call(stack, before)
    stack.wait_entry(answered, "connected", timeout=40)
    snapshot, text = wait_for(lambda: (d := desk(stack)) and d[0]["my_call"] and d, 10, "the desk's call")
    assert snapshot["my_call"]["call_id"] == answered and snapshot["my_call"]["caller"] == "anonymous"
    assert snapshot["my_call"]["history"] == []  # the abandoned call would link the two
    seen += [("live feed with the call", text), ("GET /api/calls/<call>",
             as_taker(stack, "GET", f"/api/calls/{answered}")[1])]  # fmt: skip
    assert second.popen.wait(timeout=40) == 0, second.output()
    stack.wait_ended(answered)

    # 4. A forged log line in a pause reason; then a withheld caller waits and the control
    #    plane stops on purpose: the dialplan hands the caller to the native queue.
    status, paused = as_taker(stack, "POST", "/api/takers/taker01/pause", {"reason": FORGED})
    assert status == 200, paused
    before = stack.call_ids()
    third = withheld_call(media, "withheld_3", 5067, hold_ms=25000)
    handed = new_call(stack, before)
    stack.wait_entry(handed, "greeting-done", timeout=20)
    assert app.stop(signal.SIGTERM) == 0, app.output()
    assert stack.wait_ended(handed)["outcome"] == "handed-to-fallback"
    wait_for(lambda: stack.taker_leg_up("taker01"), 20, "the native queue to ring taker01")
    assert third.popen.wait(timeout=40) == 0, third.output()
    phone.stop()

    invites = (media / "taker01_messages.log").read_text(errors="replace")
    assert invites.count("INVITE sip:") >= 3 and "PANGGIL BALIK" in invites  # callback, call, handover
    seen.append(("SIP messages of the call taker's phone", invites))
    log = app.output()
    assert "ARI event:" in log and "callback " in log  # the DEBUG dumps and the callback's line are there
    seen.append(("control plane log", log))
    written = asterisk_logs()
    executing = [line for line in written[VERBOSE_LOG].splitlines() if "Executing [" in line]
    assert any("112@emergency" in line for line in executing), written[VERBOSE_LOG][-2000:]
    assert any("handed to the native queue" in text and "(anonymous)" in text for text in written.values())
    seen += [(f"Asterisk log {name}", text) for name, text in written.items() if name != VERBOSE_LOG]
    seen.append(("dialplan application arguments (verbose 5)", "\n".join(executing)))

    leaks = {name: [line for line in text.splitlines() if DIGITS in line][:3] for name, text in seen}
    assert {name: lines for name, lines in leaks.items() if lines} == {}, "the number reached a call taker"

    # Item 12: the pause reason is one escaped line, no line of the log is forged.
    [line] = [line for line in log.splitlines() if "taker01 is now paused" in line]
    assert line.endswith("(makan\\n2031-01-01 12:00:00,000 ERROR ivr: FAKE line)")
    assert not [line for line in log.splitlines() if line.startswith("2031-01-01")]


def test_a_withheld_caller_adopted_after_a_crash_rings_the_taker_as_anonymous(
    stack: Stack,
    control_plane: Callable[..., Process],
    phones: Callable[..., Process],
    media: Path,
    tmp_path: Path,
) -> None:
    first = control_plane([], IVR_LOG_LEVEL="DEBUG")
    before = stack.call_ids()
    caller = withheld_call(media, "withheld_adopted", 5069, hold_ms=30000)
    call_id = new_call(stack, before)
    stack.wait_entry(call_id, "greeting-done", timeout=20)
    first.stop(signal.SIGKILL)  # a crash while the withheld caller waits

    second = control_plane(["taker02"], IVR_LOG_LEVEL="DEBUG")
    phones("taker02", "phone_answers.xml")
    stack.wait_entry(call_id, "connected", timeout=30)
    assert caller.popen.wait(timeout=60) == 0, caller.output()
    record = stack.wait_ended(call_id)
    assert "adopted" in [e["entry"] for e in record["timeline"]] and record["caller"] == NUMBER
    invite = (media / "taker02_messages.log").read_text(errors="replace")
    assert "INVITE sip:" in invite and "anonymous" in invite
    assert DIGITS not in invite and DIGITS not in second.output()
