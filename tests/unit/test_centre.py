"""The centre's own decisions (ivr.core.centre), pure: a caller's level from the caller
rules, an adopted caller's level, arrival and taker, an answer for a call that is over,
feature codes, the one timer wheel's orders, a callback's start, and a fault in one
call that costs no other call its step."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ivr.core import commands as cmd
from ivr.core import events as ev
from ivr.core.acd import events as acd
from ivr.core.acd.model import AcdPolicy, Activity, Declared, PriorityLevel, Taker
from ivr.core.call import CallPolicy, Phase
from ivr.core.centre import TICK, Centre, handle, open_centre
from ivr.core.centre_events import (
    Adoption,
    CallbackAsked,
    Carry,
    ConfirmFeature,
    Faulted,
    FeatureDialled,
    ForgetOwner,
    HangupStray,
    PhoneReachability,
    SaveStatus,
    Wake,
)
from ivr.core.routing import CallerRule, Routing

LEVELS = {
    "emergency": PriorityLevel("emergency", 900, None, None),
    "normal": PriorityLevel("normal", 200, 120, "PJSIP/supervisor"),
}
ROUTING = Routing((CallerRule("0401312*", "emergency"),), "normal", CallPolicy())


def fresh(*takers: str) -> Centre:
    policy = AcdPolicy(LEVELS, "normal", wrapup_seconds=5, missed_offers_to_pause=3)
    return open_centre(policy, [Taker(a, f"PJSIP/{a}") for a in takers], ROUTING)


def waiting(centre: Centre, call_id: str, now: float) -> tuple[Centre, list[object]]:
    """A caller arrives, is answered and greeted: now in line (or offered)."""
    centre, _ = handle(centre, ev.CallArrived(call_id, "081", "112"), now)
    centre, _ = handle(centre, ev.CallerAnswered(call_id), now)
    centre, orders = handle(centre, ev.GreetingFinished(call_id), now + 1)
    return centre, list(orders)


def commands(orders: list[object], owner: str) -> list[cmd.Command]:
    return [o.command for o in orders if isinstance(o, Carry) and o.owner == owner]


@pytest.mark.parametrize(
    ("number", "level", "pinned"),
    [("0401-312-999", "emergency", True), ("081234", "normal", False), ("", "normal", False)],
)
def test_a_new_callers_level_comes_from_the_first_matching_caller_rule(
    number: str, level: str, pinned: bool
) -> None:
    centre, _ = handle(fresh(), ev.CallArrived("c1", number, "112"), 10.0)
    assert (centre.calls["c1"].level, centre.calls["c1"].pinned) == (level, pinned)


def test_a_second_arrival_of_a_live_call_changes_nothing() -> None:
    centre, _ = handle(fresh(), ev.CallArrived("c1", "081", "112"), 10.0)
    again, orders = handle(centre, ev.CallArrived("c1", "0401312000", "112"), 11.0)
    assert again == centre and orders == []


def test_an_adopted_caller_keeps_its_stored_level_and_arrival() -> None:
    adopted = ev.CallAdopted(
        "c1", "081", "112", answered=True, taker=None, taker_channel=None, arrived_at=50.0
    )
    record = {"level": "emergency", "arrived_at": "40.5"}
    centre, _ = handle(fresh("a"), acd.TakerLoggedIn("a"), 1.0)
    centre, _ = handle(centre, Adoption(adopted, record), 100.0)
    call = centre.calls["c1"]
    assert (call.level, call.arrived_at, call.phase) == ("emergency", 40.5, Phase.OFFERED)  # a is free


def test_an_adopted_caller_without_a_usable_record_is_placed_by_the_rules_and_its_channel() -> None:
    adopted = ev.CallAdopted(
        "c1", "081", "112", answered=True, taker=None, taker_channel=None, arrived_at=50.0
    )
    centre, orders = handle(fresh(), Adoption(adopted, {"arrived_at": "yesterday"}), 100.0)
    assert (centre.calls["c1"].level, centre.calls["c1"].arrived_at) == ("normal", 50.0)
    adopted = replace(adopted, call_id="c2", caller_number="0401312")
    centre, orders = handle(fresh(), Adoption(adopted, None), 100.0)
    assert centre.calls["c2"].level == "emergency"
    entries = [c.entry for c in commands(orders, "c2") if isinstance(c, cmd.RecordTimeline)]
    assert entries[:2] == ["arrived", "adopted"]  # no record yet: it starts here


def test_a_caller_bridged_with_a_phone_that_is_no_takers_is_adopted_as_overflowed() -> None:
    adopted = ev.CallAdopted("c1", "081", "112", answered=True, taker="supervisor", taker_channel="c1-t1")
    centre, _ = handle(fresh("a"), Adoption(adopted, None), 100.0)
    call = centre.calls["c1"]
    assert (call.phase, call.taker, call.overflow_target) == (Phase.CONNECTED, None, "PJSIP/supervisor")
    assert centre.acd.takers["a"].activity is Activity.IDLE


def test_an_answer_for_a_call_that_is_over_is_hung_up() -> None:
    _, orders = handle(fresh(), ev.TakerAnswered("gone", "gone-t1"), 1.0)
    assert orders == [HangupStray("gone-t1")]
    _, orders = handle(fresh(), ev.CalleeAnswered("gone-cb1", "gone-cb1-c"), 1.0)
    assert orders == [HangupStray("gone-cb1-c")]
    _, orders = handle(fresh(), ev.CallerDtmf("gone", "5"), 1.0)
    assert orders == []


@pytest.mark.parametrize(
    ("code", "endpoint", "declared", "prompt"),
    [
        ("*11", "PJSIP/a", Declared.AVAILABLE, "agent-logged-in"),
        ("*21", "PJSIP/a", Declared.PAUSED, "agent-paused"),
        ("*99", "PJSIP/a", Declared.LOGGED_OUT, "feature-unknown"),
        ("*11", "PJSIP/stranger", Declared.LOGGED_OUT, "feature-unknown"),
    ],
)
def test_a_feature_code_changes_the_takers_status_only_from_their_own_phone(
    code: str, endpoint: str, declared: Declared, prompt: str
) -> None:
    centre, orders = handle(fresh("a"), FeatureDialled("ch9", code, endpoint), 1.0)
    assert centre.acd.takers["a"].declared is declared
    assert ConfirmFeature("ch9", endpoint, prompt) in orders
    assert any(isinstance(o, SaveStatus) for o in orders) == (declared is not Declared.LOGGED_OUT)


def test_a_phone_becoming_unreachable_takes_its_taker_out_of_the_offers() -> None:
    centre, _ = handle(fresh("a"), acd.TakerLoggedIn("a"), 1.0)
    centre, _ = handle(centre, PhoneReachability("PJSIP/a", False), 2.0)
    centre, orders = waiting(centre, "c1", 3.0)
    assert centre.calls["c1"].phase is Phase.WAITING
    assert not any(isinstance(c, cmd.OfferToTaker) for c in commands(orders, "c1"))


def test_timers_of_calls_and_the_acd_are_orders_of_one_wheel() -> None:
    centre, orders = waiting(fresh(), "c2", 2.0)  # queued at 3, nobody free: overflows at 122
    wakes = {o.key: o for o in orders if isinstance(o, Wake)}
    assert wakes[TICK].event == acd.Tick() and wakes[TICK].seconds == pytest.approx(119.001)
    assert wakes[("c2", "reassure")].event == ev.TimerFired("c2", "reassure")
    assert centre.tick_at == 122.0


def test_a_call_that_ends_is_forgotten_after_its_last_commands() -> None:
    centre, _ = handle(fresh(), ev.CallArrived("c1", "081", "112"), 1.0)
    centre, orders = handle(centre, ev.CallerHungUp("c1"), 2.0)
    assert "c1" not in centre.calls
    assert isinstance(orders[-1], ForgetOwner) and orders[-1].owner == "c1"
    assert any(isinstance(c, cmd.FinishCall) for c in commands(orders, "c1"))


def test_a_wrap_up_is_a_timer_and_its_end_frees_the_taker() -> None:
    centre, _ = handle(fresh("a"), acd.TakerLoggedIn("a"), 1.0)
    centre, _ = waiting(centre, "c1", 2.0)
    centre, _ = handle(centre, ev.TakerAnswered("c1", "c1-t1"), 4.0)
    centre, _ = handle(centre, ev.PartiesConnected("c1"), 4.1)
    centre, orders = handle(centre, ev.TakerLegEnded("c1", "c1-t1", "Normal Clearing"), 60.0)
    assert Wake(("a", "wrap-up"), 5, acd.WrapUpEnded("a")) in orders
    assert centre.acd.takers["a"].activity is Activity.WRAP_UP
    centre, _ = handle(centre, acd.WrapUpEnded("a"), 65.0)
    assert centre.acd.takers["a"].activity is Activity.IDLE


def test_a_callback_rings_its_taker_and_holds_them() -> None:
    centre, _ = handle(fresh("a"), acd.TakerLoggedIn("a"), 1.0)
    centre, orders = handle(centre, CallbackAsked("c0", 1, "0812", "a", "supervisor"), 2.0)
    (callback_id,) = centre.callbacks
    assert [c.endpoint for c in commands(orders, callback_id) if isinstance(c, cmd.OfferToTaker)] == [
        "PJSIP/a"
    ]
    assert centre.acd.takers["a"].call_id == callback_id
    _, orders = handle(centre, CallbackAsked("c0", 2, "0812", "nobody", "supervisor"), 3.0)
    assert [type(o) for o in orders] == [Faulted]


def test_a_fault_in_one_call_costs_no_other_call_its_step() -> None:
    centre, _ = handle(fresh("a", "b"), acd.TakerLoggedIn("a"), 1.0)
    centre, _ = handle(centre, ev.CallArrived("c1", "081", "112"), 1.0)
    centre, _ = handle(centre, ev.CallerAnswered("c1"), 1.0)  # offered to a during its greeting
    broken = replace(centre.calls["c1"], policy=None)  # type: ignore[arg-type]  # a bug's state
    centre = replace(centre, calls={**centre.calls, "c1": broken})
    after, orders = handle(centre, ev.GreetingFinished("c1"), 3.0)
    assert [type(o) for o in orders] == [Faulted] and after.calls["c1"] == broken
    after, _ = handle(after, acd.TakerLoggedIn("b"), 3.5)
    after, orders = waiting(after, "c2", 4.0)  # the next caller is served as ever
    assert after.calls["c2"].phase is Phase.OFFERED and after.acd.takers["b"].call_id == "c2"
