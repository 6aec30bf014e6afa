# What the watchdog does with the application's channels when the control plane is gone
# (ivr.core.handover.plan): callers not in a conversation go to the native queue,
# conversations stay whole, legs and helpers only the control plane could use are hung
# up, a recorder records its caller to the end, our bridges without a conversation are
# destroyed, and nothing of anyone else is touched. Pure: tables of AMI listings.
from __future__ import annotations

from ivr.core.handover import Bridge, Handover, Leg, plan

APP = "ivr112"


def caller(call: str, bridge: str = "", app_data: str = f"{APP},caller,112,shown") -> Leg:
    return Leg(call, f"PJSIP/carrier-{call[-2:]}", "Stasis", app_data, bridge)


def taker_leg(call: str, n: int = 1, bridge: str = "", answered: bool = True) -> Leg:
    app, data = ("Stasis", f"{APP},taker,{call}") if answered else ("AppDial2", "(Outgoing Line)")
    return Leg(f"{call}-t{n}", f"PJSIP/taker0{n}-{call[-2:]}", app, data, bridge)


def helpers(call: str) -> list[Leg]:
    return [
        Leg(f"{call}-rec", f"Snoop/{call}-0", "Stasis", f"{APP},record,{call}"),
        Leg(f"{call}-snoop", f"Snoop/{call}-1", "Stasis", f"{APP},screen,{call}", f"{call}-screen"),
        Leg(f"{call}-media", "UnicastRTP/127.0.0.1:41000-0x1", "Stasis", APP, f"{call}-screen"),
    ]


def names(legs: tuple[Leg, ...]) -> list[str]:
    return [leg.id for leg in legs]


def test_a_caller_in_its_greeting_goes_to_the_queue_and_only_its_recorder_stays() -> None:
    done = plan([caller("1.01"), *helpers("1.01")], [Bridge("1.01-screen")], APP)
    assert names(done.redirect) == ["1.01"]
    assert names(done.hangup) == ["1.01-snoop", "1.01-media"]  # the recorder records on
    assert done.destroy_bridges == ("1.01-screen",)


def test_a_caller_whose_offer_rings_goes_to_the_queue_and_the_ringing_leg_is_hung_up() -> None:
    done = plan([caller("1.02"), taker_leg("1.02", answered=False)], [], APP)
    assert names(done.redirect) == ["1.02"] and names(done.hangup) == ["1.02-t1"]


def test_a_conversation_stays_whole_with_its_agencies() -> None:
    bridge = "1.03-bridge"
    agency = Leg("1.03-ag1-polisi", "PJSIP/polisi-1", "Stasis", f"{APP},agency,1.03", bridge)
    legs = [caller("1.03", bridge), taker_leg("1.03", bridge=bridge), agency, helpers("1.03")[0]]
    done = plan(legs, [Bridge(bridge)], APP)
    assert done == Handover(kept=("1.03",))


def test_legs_left_alone_are_hung_up_and_their_bridge_destroyed() -> None:
    """The caller hung up while the control plane was gone: the taker sits alone in the
    bridge, and the recorder's caller is gone."""
    bridge = "1.04-bridge"
    done = plan([taker_leg("1.04", bridge=bridge), helpers("1.04")[0]], [Bridge(bridge)], APP)
    assert names(done.hangup) == ["1.04-t1", "1.04-rec"] and done.destroy_bridges == (bridge,)


def test_a_caller_alone_in_its_bridge_goes_to_the_queue() -> None:
    bridge = "1.05-bridge"
    done = plan([caller("1.05", bridge)], [Bridge(bridge)], APP)
    assert names(done.redirect) == ["1.05"] and done.destroy_bridges == (bridge,)


def test_a_callback_in_conversation_stays_and_one_still_dialling_ends() -> None:
    bridge = "2.01-cb1-bridge"
    callee = Leg("2.01-cb1-out", "PJSIP/carrier-9", "Stasis", f"{APP},callback,2.01-cb1", bridge)
    talking = [taker_leg("2.01-cb1", bridge=bridge), callee]
    dialling = [taker_leg("2.02-cb1"), Leg("2.02-cb1-out", "PJSIP/carrier-8", "AppDial2", "(Outgoing Line)")]
    done = plan([*talking, *dialling], [Bridge(bridge)], APP)
    assert names(done.hangup) == ["2.02-cb1-t1", "2.02-cb1-out"] and done.destroy_bridges == ()


def test_callers_already_in_the_native_queue_and_anything_not_ours_are_left_alone() -> None:
    queued = Leg("3.01", "PJSIP/carrier-31", "Queue", "takers-fallback,r")
    other_app = Leg("3.02", "PJSIP/carrier-32", "Stasis", "another,caller,112")
    phone = Leg("3.03", "PJSIP/taker05-33", "Dial", "PJSIP/x", "other-bridge")
    bridges = [Bridge("other-bridge", "basic"), Bridge("3.09-bridge", "basic")]  # the queue's, a Dial's
    done = plan([queued, other_app, phone], bridges, APP)
    assert done.empty and done.kept == ()


def test_a_feature_code_call_in_the_application_is_hung_up() -> None:
    code = Leg("4.01", "PJSIP/taker03-41", "Stasis", f"{APP},feature,*11,PJSIP/taker03")
    assert names(plan([code], [], APP).hangup) == ["4.01"]


def test_a_withheld_or_greeted_caller_is_a_caller_too() -> None:
    legs = [caller("5.01", app_data=f"{APP},caller,112,withheld"),
            caller("5.02", app_data=f"{APP},caller,110,greeted,shown")]  # fmt: skip
    assert names(plan(legs, [], APP).redirect) == ["5.01", "5.02"]
