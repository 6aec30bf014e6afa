# The one masking rule for withheld numbers (ivr.core.privacy) and where the core applies
# it: a record a call taker reads, the callback of a withheld caller (its own record and
# the caller ID the taker's phone rings with), a withheld caller adopted after a restart.
from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from ivr.adapters.ari.models import CallerId, Channel, DialplanCEP
from ivr.core import callback as cb
from ivr.core import commands as cmd
from ivr.core import events as ev
from ivr.core.call import CallPolicy, adopt, handle, start
from ivr.core.privacy import WITHHELD, as_call_takers_see, hide_number, hide_numbers, masked, shown
from ivr.engine.reconcile import plan

NUMBER = "085712345678"
CALL = "1796100000.4"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (NUMBER, WITHHELD),
        (f"calling {NUMBER} back", f"calling {WITHHELD} back"),
        (f"PJSIP/{NUMBER}@carrier", f"PJSIP/{WITHHELD}@carrier"),
        (f"sip:{NUMBER}@127.0.0.3;user=phone", f"sip:{WITHHELD}@127.0.0.3;user=phone"),
        (f'{{"number": "{NUMBER}"}}', f'{{"number": "{WITHHELD}"}}'),
        (f"+{NUMBER}", WITHHELD),  # with a leading '+' too
        (f"{NUMBER}{NUMBER}", f"{NUMBER}{NUMBER}"),  # a longer run is another number
        (f"9{NUMBER}", f"9{NUMBER}"),
        ("085712345679 and 5060", "085712345679 and 5060"),  # other numbers stay
        ("", ""),
    ],
)
def test_a_number_is_hidden_wherever_it_stands_whole(text: str, expected: str) -> None:
    assert hide_number(text, NUMBER) == expected


def test_a_number_given_with_a_plus_is_hidden_without_it_too() -> None:
    assert hide_number(f"to {NUMBER}", f"+{NUMBER}") == f"to {WITHHELD}"


@pytest.mark.parametrize("number", ["", "112", "12345", "anonymous", "0857-1234"])
def test_what_is_no_maskable_number_masks_nothing(number: str) -> None:
    text = "call 112 from 12345 on port 5060: anonymous 0857-1234"
    assert hide_number(text, number) == text
    assert masked({"a": [text]}, number) == {"a": [text]}


def test_several_numbers_at_once() -> None:
    assert hide_numbers("081111111111 081222222222 081333333333", {"081111111111", "081333333333"}) == (
        f"{WITHHELD} 081222222222 {WITHHELD}"
    )


def test_shown_is_the_number_unless_withheld() -> None:
    assert shown(NUMBER, False) == NUMBER and shown(NUMBER, True) == WITHHELD


def record(withheld: bool) -> dict[str, Any]:
    mark = {"withheld": "yes"} if withheld else {}
    return {
        "caller": NUMBER,
        "dialled": "callback",
        "taker": "taker01",
        **mark,
        "timeline": [
            {"at": 1.0, "entry": "arrived", "caller": NUMBER, "dialled": "callback", **mark},
            {"at": 2.0, "entry": "taker-answered", "taker": "taker01"},
            {"at": 2.1, "entry": "dialling", "number": NUMBER},
            {"at": 9.0, "entry": "ended", "result": "unreached", "cause": f"PJSIP/{NUMBER}@carrier busy"},
        ],
        "nested": {NUMBER: [f"+{NUMBER}"]},
    }


def test_a_withheld_record_shows_a_call_taker_the_digits_nowhere() -> None:
    seen = as_call_takers_see(record(withheld=True))
    assert NUMBER not in str(seen)
    assert seen["caller"] == WITHHELD and seen["timeline"][0]["caller"] == WITHHELD
    assert seen["timeline"][2] == {"at": 2.1, "entry": "dialling", "number": WITHHELD}
    assert seen["timeline"][3]["cause"] == f"PJSIP/{WITHHELD}@carrier busy"
    assert seen["taker"] == "taker01" and seen["timeline"][1] == record(True)["timeline"][1]


def test_a_shown_record_is_left_as_it_is() -> None:
    assert as_call_takers_see(record(withheld=False)) == record(withheld=False)


def test_a_withheld_records_caller_is_hidden_whatever_its_length() -> None:
    short = {"caller": "1234", "withheld": "yes", "timeline": [{"entry": "arrived", "caller": "1234"}]}
    assert as_call_takers_see(short) == {
        "caller": WITHHELD,
        "withheld": "yes",
        "timeline": [{"entry": "arrived", "caller": WITHHELD}],
    }


POLICY = cb.CallbackPolicy(trunk="PJSIP/{number}@carrier")


def callback_of(withheld: bool) -> tuple[cb.Callback, list[cmd.Command]]:
    return cb.start(CALL, 1, NUMBER, "taker01", "PJSIP/taker01", "taker01", POLICY, 100.0, withheld)


@pytest.mark.parametrize(("withheld", "rings_with"), [(True, WITHHELD), (False, NUMBER)])
def test_a_callback_rings_the_taker_with_the_number_they_may_see(withheld: bool, rings_with: str) -> None:
    state, commands = callback_of(withheld)
    [offer] = [c for c in commands if isinstance(c, cmd.OfferToTaker)]
    assert offer.caller_number == rings_with and offer.caller_name == cb.TAKER_CALLER_NAME
    state, commands = cb.handle(state, ev.TakerAnswered(state.call_id, f"{state.call_id}-t1"), 101.0)
    [dial] = [c for c in commands if isinstance(c, cmd.DialOut)]
    assert dial.endpoint == f"PJSIP/{NUMBER}@carrier"  # the number is still dialled


def test_a_withheld_callers_callback_record_carries_the_mark() -> None:
    state, first = callback_of(withheld=True)
    _, then = cb.handle(state, ev.TakerAnswered(state.call_id, f"{state.call_id}-t1"), 101.0)
    own = [c for c in [*first, *then] if isinstance(c, cmd.RecordTimeline) and c.call_id == state.call_id]
    arrived = next(c for c in own if c.entry == "arrived")
    assert arrived.detail["withheld"] == "yes" and arrived.detail["caller"] == NUMBER  # kept for supervisors
    stored = {"caller": NUMBER, "withheld": "yes", "timeline": [{"entry": c.entry, **c.detail} for c in own]}
    assert NUMBER not in str(as_call_takers_see(stored))
    shown_one, _ = callback_of(withheld=False)
    assert not shown_one.withheld


def test_a_withheld_call_offers_the_taker_anonymous() -> None:
    call, _ = start(ev.CallArrived(CALL, NUMBER, "112", withheld=True), 100.0, CallPolicy())
    assert call.shown_number == WITHHELD and call.caller_number == NUMBER


@pytest.mark.parametrize(
    ("app_data", "withheld"),
    [("ivr112,caller,112,withheld", True), ("ivr112,caller,112,greeted,withheld", True),
     ("ivr112,caller,112,shown", False), ("ivr112,caller,112", False)],
)  # fmt: skip
def test_a_withheld_caller_adopted_after_a_restart_stays_withheld(app_data: str, withheld: bool) -> None:
    channel = Channel(
        id=CALL,
        name="PJSIP/indosat-00000001",
        state="Up",
        caller=CallerId(name="", number=NUMBER),
        dialplan=DialplanCEP(context="emergency", exten="112", app_name="Stasis", app_data=app_data),
    )
    (adopted,) = plan({}, [channel], [], "ivr112").adopt
    assert adopted.withheld is withheld
    call, commands = adopt(replace(adopted, recorded=False), 100.0, CallPolicy())
    arrived = next(c for c in commands if isinstance(c, cmd.RecordTimeline) and c.entry == "arrived")
    assert (arrived.detail.get("withheld") == "yes") is withheld and arrived.detail["caller"] == NUMBER
    call, commands = handle(call, ev.TakerAssigned(CALL, "taker01", "PJSIP/taker01"), 101.0)
    [offer] = [c for c in commands if isinstance(c, cmd.OfferToTaker)]
    assert offer.caller_number == (WITHHELD if withheld else NUMBER)
