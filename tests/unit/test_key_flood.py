# A flood of keys (ivr.core.call_screening._dtmf, ivr.core.call_agencies._taker_key),
# pure: the first KEYS_LISTED keys of a kind are listed one by one, then one entry says
# further keys are counted, not listed, and 'ended' carries the total; "55" still works
# after the cap; a call taker's unknown *codes are capped the same way.
from __future__ import annotations

import json

import pytest

from ivr.core import commands as cmd
from ivr.core import events as ev
from ivr.core.acd import events as acd
from ivr.core.call import Call, CallPolicy, Phase, handle, start
from ivr.core.call_state import KEYS_LISTED, AgencyPolicy
from ivr.core.screening import ScreeningPolicy

CALL = "1796200000.3"
POLICY = CallPolicy(
    screening=ScreeningPolicy(),
    agencies=(AgencyPolicy("damkar", "Damkar", ("PJSIP/damkar",), 20, "1"),),
)


def waiting() -> Call:
    call, _ = start(ev.CallArrived(CALL, "081299", "112"), 100.0, POLICY)
    for event in (ev.CallerAnswered(CALL), ev.GreetingFinished(CALL)):
        call, _ = handle(call, event, 101.0)
    call, _ = handle(call, ev.TimerFired(CALL, "screening-budget"), 107.0)
    call, _ = handle(call, ev.ScreeningReport(CALL, None, "", "no model"), 108.0)  # screened: done
    assert call.phase is Phase.WAITING
    return call


def connected() -> Call:
    call = waiting()
    for event in (
        ev.TakerAssigned(CALL, "taker03", "PJSIP/taker03"),
        ev.TakerAnswered(CALL, f"{CALL}-t1"),
        ev.PartiesConnected(CALL),
    ):
        call, _ = handle(call, event, 110.0)
    assert call.phase is Phase.CONNECTED
    return call


def press(call: Call, events: list[ev.CallEvent]) -> tuple[Call, list[cmd.Command]]:
    every: list[cmd.Command] = []
    for i, event in enumerate(events):
        call, commands = handle(call, event, 200.0 + i / 100)
        every += commands
    return call, every


def entries(commands: list[cmd.Command]) -> list[cmd.RecordTimeline]:
    return [c for c in commands if isinstance(c, cmd.RecordTimeline)]


def named(commands: list[cmd.Command], entry: str) -> list[cmd.RecordTimeline]:
    return [c for c in entries(commands) if c.entry == entry]


@pytest.mark.parametrize(
    ("keys", "listed", "not_listed", "total_on_ended"),
    [
        (1, 1, 0, None),
        (KEYS_LISTED, KEYS_LISTED, 0, None),
        (KEYS_LISTED + 1, KEYS_LISTED, 1, str(KEYS_LISTED + 1)),
        (100, KEYS_LISTED, 1, "100"),
        (3600, KEYS_LISTED, 1, "3600"),
    ],
)
def test_a_callers_keys_are_listed_up_to_the_cap_then_counted(
    keys: int, listed: int, not_listed: int, total_on_ended: str | None
) -> None:
    call, commands = press(waiting(), [ev.CallerDtmf(CALL, "1") for _ in range(keys)])
    assert call.dtmf_count == keys
    assert len(named(commands, "dtmf")) == listed and len(entries(commands)) == listed + not_listed
    note = [{"listed": str(KEYS_LISTED)}] * not_listed
    assert [c.detail for c in named(commands, "dtmf-not-listed")] == note
    _, end = handle(call, ev.CallerHungUp(CALL), 300.0)
    [ended] = named(end, "ended")
    assert ended.detail.get("dtmf_keys") == total_on_ended
    # what the record holds stays small whatever the caller does
    size = sum(len(json.dumps({"entry": c.entry, **c.detail})) for c in entries([*commands, *end]))
    assert size < 2000


def test_55_still_makes_an_emergency_after_the_cap() -> None:
    call, commands = press(waiting(), [ev.CallerDtmf(CALL, d) for d in "1" * 500 + "55"])
    assert call.verdict == "emergency" and "pressed-55" in call.flags
    assert cmd.ToAcd(acd.CallerReprioritized(CALL, call.level)) in commands
    assert not named(commands, "dtmf")[KEYS_LISTED:]  # the "55" itself is counted, not listed
    assert named(commands, "screened")[-1].detail["verdict"] == "emergency"


@pytest.mark.parametrize(
    ("codes", "listed", "not_listed", "total_on_ended"),
    [(3, 3, 0, None), (KEYS_LISTED + 1, KEYS_LISTED, 1, str(KEYS_LISTED + 1)), (500, KEYS_LISTED, 1, "500")],
)
def test_a_call_takers_unknown_codes_are_capped_the_same_way(
    codes: int, listed: int, not_listed: int, total_on_ended: str | None
) -> None:
    keys = [ev.TakerDtmf(CALL, d) for _ in range(codes) for d in "*9"]
    call, commands = press(connected(), keys)
    assert len(named(commands, "taker-key-unknown")) == listed
    assert len(named(commands, "taker-key-unknown-not-listed")) == not_listed
    assert len(entries(commands)) == listed + not_listed
    call, commands = handle(call, ev.TakerDtmf(CALL, "*"), 400.0)
    call, commands = handle(call, ev.TakerDtmf(CALL, "1"), 400.1)  # a known code still works
    assert [c.entry for c in entries(commands)][:1] == ["agency-requested"]
    _, end = handle(call, ev.CallerHungUp(CALL), 500.0)
    [ended] = named(end, "ended")
    assert ended.detail.get("taker_keys_unknown") == total_on_ended
    assert "dtmf_keys" not in ended.detail
