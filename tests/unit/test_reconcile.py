# Reconcile after an ARI (re)connect (ivr.engine.reconcile.plan): what we track versus
# what Asterisk holds. Vanished callers and taker legs become events for their calls;
# untracked callers in our Stasis app are adopted (answered from the channel state,
# connected when our bridge holds them with their taker leg); orphan legs and bridges
# are cleaned up; channels and bridges of anything else are left alone. Pure.
from __future__ import annotations

from dataclasses import replace

import pytest

from ivr.adapters.ari.models import Bridge, CallerId, Channel, DialplanCEP
from ivr.core import events as ev
from ivr.core.call import Call, CallPolicy, Phase
from ivr.engine.reconcile import Plan, plan

APP = "ivr112"


def caller(channel_id: str, state: str = "Up", app_data: str = f"{APP},caller,112") -> Channel:
    return Channel(
        id=channel_id,
        name=f"PJSIP/carrier-{channel_id.replace('.', '')[-8:]:0>8}",
        state=state,
        caller=CallerId(name="Caller", number="081299"),
        dialplan=DialplanCEP(
            context="emergency", exten="112", priority=3, app_name="Stasis", app_data=app_data
        ),
    )


def leg(channel_id: str, taker: str = "taker05") -> Channel:
    call_id = channel_id.rpartition("-t")[0]
    return Channel(
        id=channel_id,
        name=f"PJSIP/{taker}-00000001",
        state="Up",
        dialplan=DialplanCEP(
            context="from-taker", exten="s", app_name="Stasis", app_data=f"{APP},taker,{call_id}"
        ),
    )


def bridge(call_id: str, *members: str) -> Bridge:
    return Bridge(
        id=f"{call_id}-bridge", technology="simple_bridge", bridge_type="mixing", channels=list(members)
    )


def tracked(call_id: str, phase: Phase, leg_id: str | None = None) -> Call:
    return Call(
        call_id=call_id,
        caller_number="081299",
        dialled="112",
        phase=phase,
        policy=CallPolicy(),
        taker="taker02" if leg_id else None,
        taker_channel=leg_id,
    )


def nothing_to_do(result: Plan) -> bool:
    return result == Plan()


def test_tracked_call_whose_caller_vanished_hangs_up() -> None:
    known = {"1.1": tracked("1.1", Phase.WAITING), "2.2": tracked("2.2", Phase.GREETING)}
    result = plan(known, [caller("2.2")], [], APP)
    assert result.post == [("1.1", ev.CallerHungUp("1.1"))]
    assert (result.adopt, result.hangup, result.destroy_bridges) == ([], [], [])


def test_tracked_call_whose_caller_went_on_to_the_native_queue_is_let_go_and_not_adopted() -> None:
    """The watchdog moved it out of our app while we were hung: never taken back."""
    in_queue = DialplanCEP(context="emergency", exten="112", priority=20, app_name="Queue",
                           app_data="takers-fallback,r")  # fmt: skip
    queued = caller("5.5").model_copy(update={"dialplan": in_queue})
    other = queued.model_copy(update={"id": "6.6"})  # handed over while we were down: not ours either
    result = plan({"5.5": tracked("5.5", Phase.WAITING)}, [queued, other], [], APP)
    assert result.post == [("5.5", ev.CallerLeftApp("5.5"))]
    assert (result.adopt, result.hangup, result.destroy_bridges) == ([], [], [])


@pytest.mark.parametrize("phase", [Phase.OFFERED, Phase.CONNECTING, Phase.CONNECTED])
def test_tracked_call_whose_taker_leg_vanished_gets_leg_ended(phase: Phase) -> None:
    known = {"3.3": tracked("3.3", phase, "3.3-t1")}
    result = plan(known, [caller("3.3")], [bridge("3.3", "3.3")], APP)
    assert len(result.post) == 1
    call_id, event = result.post[0]
    assert call_id == "3.3"
    assert isinstance(event, ev.TakerLegEnded)
    assert (event.call_id, event.channel_id) == ("3.3", "3.3-t1")
    assert (result.hangup, result.destroy_bridges) == ([], [])  # its bridge is still ours


def test_tracked_connected_call_with_everything_present_is_left_as_is() -> None:
    known = {"4.4": tracked("4.4", Phase.CONNECTED, "4.4-t2")}
    channels = [caller("4.4"), leg("4.4-t2")]
    assert nothing_to_do(plan(known, channels, [bridge("4.4", "4.4", "4.4-t2")], APP))


@pytest.mark.parametrize(("state", "answered"), [("Up", True), ("Ring", False), ("Ringing", False)])
def test_untracked_caller_in_our_app_is_adopted(state: str, answered: bool) -> None:
    result = plan({}, [caller("5.5", state=state, app_data=f"{APP},caller,110")], [], APP)
    assert len(result.adopt) == 1
    adopted = result.adopt[0]
    assert (adopted.call_id, adopted.caller_number, adopted.dialled) == ("5.5", "081299", "110")
    assert adopted.answered is answered
    assert (adopted.taker, adopted.taker_channel) == (None, None)
    assert (result.post, result.hangup, result.destroy_bridges) == ([], [], [])


@pytest.mark.parametrize(("app_data", "dialled"), [(f"{APP},caller,112", "112"), (f"{APP},caller", "112")])
def test_adopted_dialled_number_defaults_to_112(app_data: str, dialled: str) -> None:
    (adopted,) = plan({}, [caller("5.6", app_data=app_data)], [], APP).adopt
    assert adopted.dialled == dialled


def test_untracked_caller_bridged_with_its_leg_is_adopted_connected() -> None:
    channels = [caller("6.6"), leg("6.6-t3", taker="taker05")]
    result = plan({}, channels, [bridge("6.6", "6.6", "6.6-t3")], APP)
    (adopted,) = result.adopt
    assert (adopted.call_id, adopted.answered) == ("6.6", True)
    assert (adopted.taker, adopted.taker_channel) == ("taker05", "6.6-t3")
    # Its leg and bridge now belong to an adopted call: nothing is torn down.
    assert (result.hangup, result.destroy_bridges) == ([], [])


@pytest.mark.parametrize(
    "bridges",
    [
        [],  # no bridge at all
        [bridge("7.7", "7.7")],  # only the caller in it
        [bridge("7.7", "7.7-t1")],  # only the leg in it
        [bridge("8.8", "7.7", "7.7-t1")],  # another call's bridge
        [Bridge(id="7.7-other", channels=["7.7", "7.7-t1"])],  # not one of our bridges
    ],
)
def test_caller_not_bridged_with_its_leg_is_adopted_as_waiting(bridges: list[Bridge]) -> None:
    result = plan({}, [caller("7.7"), leg("7.7-t1")], bridges, APP)
    (adopted,) = result.adopt
    assert (adopted.taker, adopted.taker_channel) == (None, None)
    assert adopted.answered is True
    assert result.hangup == []  # the leg's call exists (adopted): not an orphan


def test_bridged_leg_already_gone_adopts_as_waiting() -> None:
    result = plan({}, [caller("9.9")], [bridge("9.9", "9.9", "9.9-t1")], APP)
    (adopted,) = result.adopt
    assert (adopted.taker, adopted.taker_channel) == (None, None)


def test_orphan_leg_is_hung_up_and_orphan_bridge_destroyed() -> None:
    channels = [leg("10.10-t1"), leg("11.11-t2", taker="taker07")]
    bridges = [bridge("10.10", "10.10-t1"), bridge("12.12")]
    result = plan({}, channels, bridges, APP)
    assert sorted(result.hangup) == ["10.10-t1", "11.11-t2"]
    assert sorted(result.destroy_bridges) == ["10.10-bridge", "12.12-bridge"]
    assert (result.post, result.adopt) == ([], [])


def test_legs_and_bridges_of_tracked_calls_are_kept() -> None:
    known = {"13.13": tracked("13.13", Phase.OFFERED, "13.13-t1")}
    channels = [caller("13.13"), leg("13.13-t1")]
    assert nothing_to_do(plan(known, channels, [bridge("13.13", "13.13")], APP))


@pytest.mark.parametrize(
    "channel",
    [
        caller("20.1", app_data="otherapp,caller,112"),  # another Stasis app
        caller("20.2", app_data=f"{APP}0,caller,112"),  # an app whose name starts like ours
        caller("20.3", app_data=f"{APP},feature,*11,PJSIP/taker01"),  # a feature code call
        Channel(id="20.4", name="PJSIP/taker03-0000000c", state="Up"),  # a phone in the dialplan
        Channel(
            id="20.5",
            name="PJSIP/carrier-0000000d",
            state="Up",
            dialplan=DialplanCEP(context="emergency", app_name="Queue", app_data="takers-fallback,r"),
        ),  # the native fallback queue holds this caller
    ],
    ids=["other-app", "prefix-app", "feature", "plain", "fallback-queue"],
)
def test_channels_of_anything_else_are_left_alone(channel: Channel) -> None:
    bridges = [Bridge(id="conference-7", channels=[channel.id])]
    assert nothing_to_do(plan({}, [channel], bridges, APP))


def test_a_mixed_picture_is_sorted_out_in_one_plan() -> None:
    known = {
        "30.1": tracked("30.1", Phase.CONNECTED, "30.1-t1"),  # caller gone
        "30.2": tracked("30.2", Phase.CONNECTED, "30.2-t1"),  # taker leg gone
    }
    channels = [
        caller("30.2"),
        caller("30.3", state="Ring"),
        leg("30.9-t4"),
        caller("30.5", app_data="x,caller"),
    ]
    bridges = [bridge("30.2", "30.2"), bridge("30.8")]
    result = plan(known, channels, bridges, APP)
    assert [(c, type(e).__name__) for c, e in result.post] == [
        ("30.1", "CallerHungUp"),
        ("30.2", "TakerLegEnded"),
    ]
    assert [(a.call_id, a.answered) for a in result.adopt] == [("30.3", False)]
    assert result.hangup == ["30.9-t4"]
    assert result.destroy_bridges == ["30.8-bridge"]


def screening_channel(channel_id: str) -> Channel:
    return Channel(id=channel_id, name=f"Snoop/{channel_id}", state="Up")


def test_screening_leftovers_are_cleaned_unless_their_screening_runs_here() -> None:
    live, orphan = "1795846700.1", "1795846700.2"
    channels = [caller(live), caller(orphan)]
    channels += [screening_channel(f"{c}{s}") for c in (live, orphan) for s in ("-snoop", "-media")]
    bridges = [Bridge(id=f"{c}-screen", technology="softmix", bridge_type="mixing") for c in (live, orphan)]
    known = {live: tracked(live, Phase.WAITING), orphan: tracked(orphan, Phase.WAITING)}
    result = plan(known, channels, bridges, APP, screened={live})
    assert sorted(result.hangup) == [f"{orphan}-media", f"{orphan}-snoop"]
    assert result.destroy_bridges == [f"{orphan}-screen"]
    assert result.adopt == []  # a snoop or externalMedia channel is never taken for a caller


def callee(channel_id: str) -> Channel:
    return Channel(
        id=channel_id,
        name="PJSIP/carrier-00000009",
        state="Up",
        dialplan=DialplanCEP(context="from-trunk", exten="s", app_name="Stasis",
                             app_data=f"{APP},callback,{channel_id.removesuffix('-out')}"),
    )  # fmt: skip


def test_a_callback_going_on_here_keeps_its_legs_and_bridge() -> None:
    cb = "1764300000.7-cb1"
    channels = [leg(f"{cb}-t1"), callee(f"{cb}-out")]
    result = plan({}, channels, [bridge(cb, f"{cb}-t1", f"{cb}-out")], APP, callbacks={cb})
    assert nothing_to_do(result)


def test_the_legs_and_bridge_of_a_callback_nobody_tracks_are_cleaned_up() -> None:
    cb = "1764300000.7-cb1"
    channels = [leg(f"{cb}-t1"), callee(f"{cb}-out")]
    result = plan({}, channels, [bridge(cb, f"{cb}-t1", f"{cb}-out")], APP)
    assert sorted(result.hangup) == [f"{cb}-out", f"{cb}-t1"] and result.destroy_bridges == [f"{cb}-bridge"]
    assert result.adopt == []  # the person called back is not taken for a new caller


def test_callback_legs_gone_while_disconnected_end_their_callback() -> None:
    from ivr.core import callback as cb
    from ivr.engine.reconcile import callback_legs_gone

    ringing, _ = cb.start("c1", 1, "0812", "taker01", "PJSIP/taker01", "sup", cb.CallbackPolicy(), 0.0)
    dialling = replace(ringing, phase=cb.CallbackPhase.DIALLING, taker_channel="c1-cb1-t1",
                       callee_channel="c1-cb1-out")  # fmt: skip
    assert callback_legs_gone({"c1-cb1": ringing}, {"c1-cb1-t1"}) == []
    [(owner, event)] = callback_legs_gone({"c1-cb1": ringing}, set())
    assert owner == "c1-cb1" and event == ev.TakerLegEnded("c1-cb1", "c1-cb1-t1", "gone while disconnected")
    [(_, event)] = callback_legs_gone({"c1-cb1": dialling}, {"c1-cb1-t1"})
    assert event == ev.CalleeLegEnded("c1-cb1", "c1-cb1-out", "gone while disconnected")
