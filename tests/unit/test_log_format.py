# The log's formats and its syslog copy (ivr.adapters.log_format, log_call, log_syslog):
# with IVR_LOG_FORMAT=json every record is one JSON object on one line; a line logged
# while the engine handles a caller's event or carries out its commands names that call
# (call_id), as does a line naming a call id, while a line about nothing has no call_id;
# a withheld number is masked in JSON and in the syslog copy; syslog lines reach a UDP
# collector, and one that is unreachable never stops the program; bad settings are refused
# naming the variable, by `python -m ivr watchdog` too.
from __future__ import annotations

import io
import json
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ivr.adapters.ari.models import Playback
from ivr.adapters.log_call import about_call
from ivr.adapters.log_format import install
from ivr.adapters.log_hygiene import withheld_numbers
from ivr.adapters.log_syslog import SyslogInvalid, SyslogTarget, parse_syslog
from ivr.core import centre as core
from ivr.core import commands as cmd
from ivr.core.acd import events as acd
from ivr.core.centre_events import CentreEvent, Order
from ivr.engine.lanes import Lanes
from ivr.settings import Settings, SettingsError, WatchdogSettings, load_settings
from tests.unit.fake_asterisk import FakeAsterisk
from tests.unit.test_engine_fake_asterisk import bridged, centre, until

REPO = Path(__file__).resolve().parents[2]
WITA = ZoneInfo("Asia/Makassar")
NUMBER = "085711223344"  # registered as withheld by the tests that need it
log = logging.getLogger("ivr.test")


@pytest.fixture
def root_handlers() -> Iterator[None]:
    """install() replaces the root logger's handlers: they are put back afterwards."""
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    yield
    for handler in root.handlers:
        if handler not in saved:
            handler.close()
    root.handlers[:] = saved
    root.setLevel(level)


@pytest.fixture
def collector() -> Iterator[socket.socket]:
    """A syslog collector: a UDP socket on loopback."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(2.0)
    yield sock
    sock.close()


def json_lines(out: io.StringIO) -> list[dict[str, str]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def received(sock: socket.socket, count: int) -> list[str]:
    return [sock.recv(65535).decode() for _ in range(count)]


def test_every_record_is_one_json_object_on_one_line(root_handlers: None) -> None:
    out = io.StringIO()
    install("INFO", out, form="json", zone=WITA)
    log.info("pause reason %s", 'makan\nFAKE {"level": "ERROR"}\u2028\x1b[2J')
    try:
        raise ValueError("Asterisk said no")
    except ValueError:
        log.exception("originate failed")
    log.debug("not at INFO")
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and all(line.isascii() for line in lines)
    first, second = (json.loads(line) for line in lines)
    assert first["message"] == 'pause reason makan\nFAKE {"level": "ERROR"}\u2028\x1b[2J'  # kept, inside
    assert (first["level"], first["logger"]) == ("INFO", "ivr.test")
    stamp = datetime.fromisoformat(first["time"])  # ISO 8601, with the zone's offset
    assert stamp.utcoffset() == timedelta(hours=8) and abs(stamp - datetime.now(UTC)) < timedelta(minutes=1)
    assert "exception" not in first
    assert second["level"] == "ERROR" and second["message"] == "originate failed"
    assert second["exception"].startswith("Traceback (most recent call last):")
    assert second["exception"].endswith("ValueError: Asterisk said no")


@pytest.mark.parametrize(
    ("message", "call_id"),
    [
        ("call 1700000000.12 ended: answered", "1700000000.12"),
        ("taker leg 1700000000.12-t2 rang out", "1700000000.12"),  # a leg names its call
        ("call a1-1700000000.7 placed on node a2: node a1 is down", "a1-1700000000.7"),
        ("callback 1700000000.12-cb1 rings 081299000001", "1700000000.12-cb1"),
        ("configuration applied: 20 call takers, 4 priorities", None),
        ("ARI events connected (http://127.0.0.1:8088, attempt 1)", None),
    ],
)
def test_a_line_naming_a_call_carries_its_id_and_a_line_about_nothing_has_none(
    root_handlers: None, message: str, call_id: str | None
) -> None:
    out = io.StringIO()
    install("INFO", out, form="json")
    log.info(message)
    (line,) = json_lines(out)
    assert line.get("call_id") == call_id
    assert ("call_id" in line) is (call_id is not None)


class TalkativeAsterisk(FakeAsterisk):
    """Logs, as an adapter would, a line that does not name the call it works for."""

    async def play(self, channel_id: str, playback_id: str, media: str) -> Playback:
        logging.getLogger("ivr.adapters.ari").warning("playing %s", media)
        return await super().play(channel_id, playback_id, media)


async def test_lines_logged_while_the_engine_handles_a_callers_event_carry_its_call_id(
    root_handlers: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = io.StringIO()
    install("INFO", out, form="json")
    handle = core.handle

    def deciding(centre: core.Centre, event: CentreEvent, now: float) -> tuple[core.Centre, list[Order]]:
        logging.getLogger("ivr.engine").info("deciding on %s", type(event).__name__)
        return handle(centre, event, now)

    monkeypatch.setattr(core, "handle", deciding)
    async with centre(TalkativeAsterisk()) as (engine, asterisk):
        engine.to_acd(acd.TakerLoggedIn("taker01"))
        caller = asterisk.caller_dials("081299000001")
        await until(lambda: bridged(asterisk, caller, f"{caller}-t1"), "caller and taker bridged")
        log.info("between calls")
        asterisk.hang_up(caller)
        await until(lambda: caller not in engine.calls, "the call ended")
    lines = json_lines(out)
    about_caller = [line for line in lines if caller in line.get("call_id", "")]
    decided = {line["message"] for line in about_caller if line["logger"] == "ivr.engine"}
    assert {"deciding on CallArrived", "deciding on GreetingFinished"} <= decided
    assert all(line["call_id"] == caller for line in about_caller if line["logger"] == "ivr.engine")
    played = [line for line in lines if line["logger"] == "ivr.adapters.ari"]
    assert played and all(line["call_id"] == caller for line in played)  # from its lane
    login = [line for line in lines if line["message"] == "deciding on TakerLoggedIn"]
    between = [line for line in lines if line["message"] == "between calls"]
    assert len(login) == 1 and len(between) == 1
    assert "call_id" not in login[0] and "call_id" not in between[0]  # about no call


async def test_a_calls_commands_name_it_even_when_another_calls_event_gave_them(root_handlers: None) -> None:
    out = io.StringIO()
    install("INFO", out, form="json")

    async def execute(owner: str, command: cmd.Command) -> None:
        logging.getLogger("ivr.adapters.ari").warning("request timed out")

    lanes = Lanes(execute)
    with about_call("1700000000.1"):  # e.g. the ACD offering a caller while handling another's event
        lanes.put("1700000000.2", cmd.Hangup("1700000000.2"))
    lanes.close("1700000000.2")
    await lanes.stop(["1700000000.2"], grace_seconds=1.0)
    assert [line.get("call_id") for line in json_lines(out)] == ["1700000000.2"]


@pytest.mark.parametrize("form", ["text", "json"])
def test_a_withheld_number_is_masked_on_standard_error_and_in_syslog(
    root_handlers: None, collector: socket.socket, form: str
) -> None:
    withheld_numbers.add(NUMBER)
    out = io.StringIO()
    where = SyslogTarget(host="127.0.0.1", port=collector.getsockname()[1])
    install("INFO", out, form=form, syslog=where)
    log.info(f"caller {NUMBER} arrived")
    try:
        raise RuntimeError(f"no route for {NUMBER}")
    except RuntimeError:
        log.exception("dialling %s failed", NUMBER)
    copies = received(collector, 2)
    for text in (out.getvalue(), *copies):
        assert NUMBER not in text
        assert "caller anonymous arrived" in text or "dialling anonymous failed" in text
    assert "no route for anonymous" in out.getvalue() and "no route for anonymous" in copies[1]
    if form == "json":
        assert [line["message"] for line in json_lines(out)] == [
            "caller anonymous arrived", "dialling anonymous failed",
        ]  # fmt: skip


@pytest.mark.parametrize(("form", "facility", "priority"), [("text", "local0", 134), ("json", "local3", 158)])
def test_syslog_lines_reach_a_udp_collector(
    root_handlers: None, collector: socket.socket, form: str, facility: str, priority: int
) -> None:
    where = parse_syslog(f"127.0.0.1:{collector.getsockname()[1]}")
    install("INFO", io.StringIO(), form=form, syslog=where, facility=facility, program="ivr112-watchdog")
    log.info("control plane answering again")
    log.warning("call 1700000000.3 handed to the native queue")
    info, warning = received(collector, 2)
    head = f"<{priority}>ivr112-watchdog[{os.getpid()}]: "
    assert info.startswith(head) and warning.startswith(f"<{priority - 2}>ivr112-watchdog[")
    if form == "text":  # no time: the collector stamps each line
        assert info == head + "INFO ivr.test: control plane answering again"
    else:
        line = json.loads(warning.removeprefix(f"<{priority - 2}>ivr112-watchdog[{os.getpid()}]: "))
        assert line["call_id"] == "1700000000.3" and line["level"] == "WARNING"


def test_an_unreachable_syslog_never_stops_the_program(root_handlers: None, tmp_path: Path) -> None:
    out = io.StringIO()
    missing = tmp_path / "no-syslog-here"
    handlers = install("INFO", out, syslog=parse_syslog(str(missing)))
    for n in range(3):
        log.info("call taker taker0%d logged in", n)
    lines = out.getvalue().splitlines()
    assert len(lines) == 4, lines  # the warning once, then every line still on standard error
    assert f"syslog at {missing} unreachable" in lines[0]
    assert getattr(handlers[1], "dropped", 0) == 3


@pytest.mark.parametrize(
    ("value", "target"),
    [
        ("", None),
        ("/dev/log", SyslogTarget(path="/dev/log")),
        ("10.0.0.5", SyslogTarget(host="10.0.0.5", port=514)),
        ("10.0.0.5:5514", SyslogTarget(host="10.0.0.5", port=5514)),
        ("[fd00::5]:1514", SyslogTarget(host="fd00::5", port=1514)),
        ("fd00::5", SyslogTarget(host="fd00::5", port=514)),
    ],
)
def test_syslog_addresses_read(value: str, target: SyslogTarget | None) -> None:
    assert parse_syslog(value) == target


@pytest.mark.parametrize(
    "value", ["logs.example.org", "10.0.0.5:0", "10.0.0.5:x", "[fd00::5", "[fd00::5]514"]
)
def test_a_syslog_address_that_is_not_one_is_refused(value: str) -> None:
    with pytest.raises(SyslogInvalid):
        parse_syslog(value)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith("IVR_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("IVR_ARI_PASSWORD", "not-a-real-secret-42")
    monkeypatch.setenv("IVR_API_TOKEN", "not-a-real-api-token-0123")
    monkeypatch.setenv("IVR_WATCHDOG_AMI_PASSWORD", "not-a-real-watchdog-secret-7")
    return monkeypatch


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("IVR_LOG_FORMAT", "xml"),
        ("IVR_LOG_SYSLOG", "logs.example.org:514"),
        ("IVR_LOG_SYSLOG_FACILITY", "kern"),
    ],
)
@pytest.mark.parametrize("model", [Settings, WatchdogSettings])
def test_a_bad_log_setting_is_refused_naming_the_variable(
    clean_env: pytest.MonkeyPatch, variable: str, value: str, model: type[Settings | WatchdogSettings]
) -> None:
    clean_env.setenv(variable, value)
    with pytest.raises(SettingsError) as refused:
        load_settings(model)
    assert variable in str(refused.value) and str(refused.value).count("IVR_") == 1
    clean_env.delenv(variable)
    settings = load_settings(model)
    defaults = (settings.log_format, settings.syslog_target, settings.log_syslog_facility)
    assert defaults == ("text", None, "local0")


def test_the_watchdog_refuses_a_bad_log_format_at_start() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IVR_")}
    env |= {"IVR_LOG_FORMAT": "xml", "IVR_WATCHDOG_AMI_PASSWORD": "not-a-real-watchdog-secret-7"}
    done = subprocess.run(
        [sys.executable, "-m", "ivr", "watchdog"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "IVR_LOG_FORMAT" in done.stderr and "Traceback" not in done.stderr
