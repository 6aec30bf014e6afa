"""The line the dialplan leaves for a call the native queue handled, read back into the
call's record: what a supervisor finds for a call taken while the control plane was away."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ivr.core import native_line
from ivr.core.native_line import FIELDS, NativeLineInvalid, already_kept, entries, parse

REPO = Path(__file__).resolve().parents[2]


def line(**given: str) -> str:
    values = {
        "arrived": "1795868600.250",
        "queued": "1795868608.000",
        "ended": "1795868640.500",
        "dialled": "112",
        "presentation": "shown",
        "number": "081234567890",
        "why": "fallback",
        "queue_status": "",
        "member": "PJSIP/taker03",
        "held": "4",
        "recorded": "recorded",
    } | given
    return "n1|" + "|".join(values[name] for name in FIELDS)


def takers(interface: str) -> str:
    return {"PJSIP/taker03": "taker03"}.get(interface, interface)


def test_the_dialplan_writes_the_fields_in_the_order_they_are_read() -> None:
    dialplan = (REPO / "dialplan" / "extensions.conf").read_text()
    (written,) = re.findall(r"Set\(DB\(ivr112-native/\$\{UNIQUEID\}\)=(.*)\)$", dialplan, re.M)
    tag, *variables = written.split("|")
    assert tag == native_line.FORMAT
    expected = {
        "arrived": "${IVR_ARRIVED}",
        "queued": "${IVR_QUEUED}",
        "ended": "${STRFTIME(,,%s.%3q)}",
        "dialled": "${EMERGENCY_DIALLED}",
        "presentation": "${IVR_NUMBER}",
        "number": "${IVR_SHOWN_DIGITS}",
        "why": "${IVR_NATIVE}",
        "queue_status": "${QUEUESTATUS}",
        "member": "${MEMBERINTERFACE}",
        "held": "${QEHOLDTIME}",
        "recorded": "${IVR_RECORDED}",
    }
    assert variables == [expected[name] for name in FIELDS]


def test_an_answered_call_without_a_record_gets_a_whole_one() -> None:
    call = parse("1795868600.7", line())
    assert call.outcome.value == "answered" and call.answered_at == 1795868612.0
    timeline = entries(call, False, takers)
    assert [(e.entry, e.at) for e in timeline] == [
        ("arrived", 1795868600.25),
        ("recording", 1795868600.25),
        ("queued-natively", 1795868608.0),
        ("taker-answered", 1795868612.0),
        ("ended", 1795868640.5),
    ]
    assert timeline[0].detail == {"caller": "081234567890", "dialled": "112", "level": "normal"}
    assert timeline[3].detail["taker"] == "taker03"
    assert timeline[-1].detail == {"by": "native queue", "outcome": "answered"}


@pytest.mark.parametrize(
    ("given", "outcome"),
    [
        ({"queued": "", "member": "", "held": ""}, "abandoned-in-greeting"),
        ({"member": "", "held": ""}, "abandoned-in-queue"),
        ({"member": "", "held": "", "queue_status": "JOINEMPTY"}, "failed"),
    ],
)
def test_a_caller_nobody_answered_gets_the_outcome_that_says_why(given: dict[str, str], outcome: str) -> None:
    call = parse("1795868600.8", line(**given))
    assert call.outcome.value == outcome
    assert "taker-answered" not in [e.entry for e in entries(call, False, takers)]


def test_a_withheld_number_is_marked_and_never_filled_in() -> None:
    call = parse("1795868600.9", line(presentation="withheld", number="081234567890"))
    first = entries(call, False, takers)[0]
    assert first.detail["caller"] == "" and first.detail["withheld"] == "yes"


def test_a_handed_over_call_keeps_its_outcome_and_gets_what_happened_after() -> None:
    call = parse("1795868600.10", line(why="watchdog"))
    timeline = entries(call, True, takers)
    assert [e.entry for e in timeline] == ["queued-natively", "taker-answered", "left-natively"]
    assert timeline[0].detail["reason"] == "watchdog"
    assert timeline[-1].detail == {"result": "answered"}
    assert not any(e.entry in ("arrived", "ended") for e in timeline)


def test_entries_already_stored_are_not_written_twice() -> None:
    for has_record in (False, True):
        stored = [{"entry": e.entry, **e.detail} for e in entries(parse("1.1", line()), has_record, takers)]
        assert already_kept(stored)
    assert not already_kept([{"entry": "arrived"}, {"entry": "ended", "by": "hangup"}])


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("x1|1|2|3", "unknown line format 'x1'"),
        ("n1|1|2", "2 fields, expected 11"),
        (line(arrived="soon"), "arrived is not a time: 'soon'"),
        (line(held="-3"), "held is not a time: '-3'"),
        (line(why="maybe"), "why='maybe'"),
        (line(presentation="secret"), "presentation='secret'"),
    ],
)
def test_a_line_that_cannot_be_read_is_refused_naming_what_is_wrong(text: str, named: str) -> None:
    with pytest.raises(NativeLineInvalid, match=re.escape(named)):
        parse("1795868600.11", text)
