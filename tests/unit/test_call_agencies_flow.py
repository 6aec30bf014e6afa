# Agencies in a live call (ivr.core.call + ivr.core.call_agencies), pure: an agency is
# rung endpoint after endpoint, announced, then joins the bridge; the taker may leave the
# caller with the agencies; the caller hanging up ends every agency leg; every step is
# on the timeline.
from __future__ import annotations

from dataclasses import replace

from ivr.core import commands as cmd
from ivr.core import events as ev
from ivr.core.acd import events as acd
from ivr.core.call import Call, CallPolicy, Phase, handle, start
from ivr.core.call_agencies import agency_refusal, leave_refusal
from ivr.core.call_state import AgencyPolicy, LegStatus
from ivr.core.outcomes import Outcome

CALL = "1795846476.7"
TAKER_LEG = f"{CALL}-t1"
BRIDGE = f"{CALL}-bridge"
POLICY = CallPolicy(
    agencies=(
        AgencyPolicy("damkar", "Damkar", ("PJSIP/damkar", "PJSIP/damkar-pos2"), 20, "1"),
        AgencyPolicy("ambulans", "Ambulans", ("PJSIP/ambulans",), 25, "2"),
    )
)


def leg(n: int, agency: str = "damkar") -> str:
    return f"{CALL}-ag{n}-{agency}"


def of(commands: list[cmd.Command], kind: type) -> list:
    return [c for c in commands if isinstance(c, kind)]


def entries(commands: list[cmd.Command]) -> list[str]:
    return [c.entry for c in of(commands, cmd.RecordTimeline)]


def connected() -> Call:
    call, _ = start(ev.CallArrived(CALL, "081299", "112"), 100.0, POLICY)
    for event in (
        ev.CallerAnswered(CALL),
        ev.GreetingFinished(CALL),
        ev.TakerAssigned(CALL, "taker03", "PJSIP/taker03"),
        ev.TakerAnswered(CALL, TAKER_LEG),
        ev.PartiesConnected(CALL),
    ):
        call, _ = handle(call, event, 110.0)
    assert call.phase is Phase.CONNECTED
    return call


def joined(call: Call, n: int = 1, agency: str = "damkar") -> Call:
    call, _ = handle(call, ev.AgencyRequested(CALL, agency, "taker03"), 120.0)
    call, _ = handle(call, ev.AgencyAnswered(CALL, leg(n, agency)), 122.0)
    call, _ = handle(call, ev.AgencyAnnounced(CALL, leg(n, agency)), 125.0)
    return call


def test_an_agency_is_rung_announced_and_joins_the_callers_bridge() -> None:
    call, commands = handle(connected(), ev.AgencyRequested(CALL, "damkar", "taker03"), 120.0)
    assert of(commands, cmd.CallAgency) == [cmd.CallAgency(CALL, "damkar", "PJSIP/damkar", leg(1), CALL, 20)]
    assert entries(commands) == ["agency-requested", "agency-ringing"]
    call, commands = handle(call, ev.AgencyAnswered(CALL, leg(1)), 122.0)
    assert commands[-1] == cmd.PlayPrompt(leg(1), f"{leg(1)}-announce", POLICY.agency_announce_media)
    assert not of(commands, cmd.AddToBridge)  # not before the agency heard who is calling
    call, commands = handle(call, ev.AgencyAnnounced(CALL, leg(1)), 125.0)
    assert of(commands, cmd.AddToBridge) == [cmd.AddToBridge(BRIDGE, leg(1))]
    assert entries(commands) == ["agency-joined"] and call.agencies[0].status is LegStatus.JOINED


def test_a_silent_first_endpoint_is_followed_by_the_next_then_the_taker_is_told() -> None:
    call, _ = handle(connected(), ev.AgencyRequested(CALL, "damkar", "taker03"), 120.0)
    call, commands = handle(call, ev.AgencyLegEnded(CALL, leg(1), "No Answer"), 140.0)
    assert of(commands, cmd.CallAgency) == [
        cmd.CallAgency(CALL, "damkar", "PJSIP/damkar-pos2", leg(2), CALL, 20)
    ]
    assert entries(commands) == ["agency-no-answer", "agency-ringing"]
    call, commands = handle(call, ev.AgencyLegEnded(CALL, leg(2), "Busy"), 160.0)
    assert entries(commands) == ["agency-no-answer", "agency-failed"]
    (told,) = of(commands, cmd.PlayPrompt)
    assert told.channel_id == TAKER_LEG and told.media == POLICY.agency_failed_media
    assert call.phase is Phase.CONNECTED and call.live_legs() == []
    _, commands = handle(call, ev.AgencyRequested(CALL, "damkar", "taker03"), 170.0)
    assert of(commands, cmd.CallAgency)  # the taker may ask again


def test_two_agencies_in_one_call_and_no_second_leg_for_the_same_agency() -> None:
    call = joined(joined(connected()), 2, "ambulans")
    assert [(a.agency, a.status) for a in call.agencies] == [
        ("damkar", LegStatus.JOINED),
        ("ambulans", LegStatus.JOINED),
    ]
    same, commands = handle(call, ev.AgencyRequested(CALL, "damkar", "taker03"), 130.0)
    assert same == call and entries(commands) == ["agency-refused"]
    unknown, commands = handle(call, ev.AgencyRequested(CALL, "sar", "taker03"), 130.0)
    assert unknown == call and entries(commands) == ["agency-refused"]


def test_the_taker_leaves_caller_and_agency_stay_and_the_caller_hanging_up_ends_all() -> None:
    call, commands = handle(joined(connected()), ev.TakerLeaveRequested(CALL, "taker03"), 130.0)
    assert call.phase is Phase.WITH_AGENCY
    assert cmd.Hangup(TAKER_LEG) in commands and cmd.ToAcd(acd.CallEnded("taker03")) in commands
    assert cmd.Hangup(leg(1)) not in commands
    call, commands = handle(call, ev.CallerHungUp(CALL), 200.0)
    assert (call.phase, call.outcome) == (Phase.ENDED, Outcome.ANSWERED)
    assert cmd.Hangup(leg(1)) in commands and cmd.DestroyBridge(BRIDGE) in commands
    assert not of(commands, cmd.ToAcd)  # the taker was freed once, when they left


def test_leaving_needs_an_agency_in_the_call() -> None:
    call, commands = handle(connected(), ev.TakerLeaveRequested(CALL, "taker03"), 130.0)
    assert call.phase is Phase.CONNECTED and entries(commands) == ["taker-leave-refused"]
    assert not of(commands, cmd.Hangup)


def test_the_caller_hanging_up_ends_every_agency_leg_even_a_ringing_one() -> None:
    call = joined(connected())
    call, _ = handle(call, ev.AgencyRequested(CALL, "ambulans", "taker03"), 130.0)
    call, commands = handle(call, ev.CallerHungUp(CALL), 140.0)
    assert {c.channel_id for c in of(commands, cmd.Hangup)} == {TAKER_LEG, leg(1), leg(2, "ambulans")}


def test_when_the_last_agency_leaves_after_the_taker_the_call_ends() -> None:
    call, _ = handle(joined(connected()), ev.TakerLeaveRequested(CALL, "taker03"), 130.0)
    call, commands = handle(call, ev.AgencyLegEnded(CALL, leg(1), "Normal Clearing"), 300.0)
    assert (call.phase, call.outcome) == (Phase.ENDED, Outcome.ANSWERED)
    assert cmd.Hangup(CALL) in commands and entries(commands) == ["agency-left", "ended"]


def test_a_taker_hanging_up_with_an_agency_joined_has_left() -> None:
    call, commands = handle(joined(connected()), ev.TakerLegEnded(CALL, TAKER_LEG, "Normal Clearing"), 130.0)
    assert call.phase is Phase.WITH_AGENCY and cmd.Hangup(CALL) not in commands
    assert cmd.ToAcd(acd.CallEnded("taker03")) in commands


def test_the_takers_phone_keys_bring_agencies_in_and_leave() -> None:
    call = connected()
    for key in "*2":
        call, commands = handle(call, ev.TakerDtmf(CALL, key), 120.0)
    assert of(commands, cmd.CallAgency)[0].agency == "ambulans"
    call, _ = handle(call, ev.AgencyAnswered(CALL, leg(1, "ambulans")), 121.0)
    call, _ = handle(call, ev.AgencyAnnounced(CALL, leg(1, "ambulans")), 124.0)
    call, commands = handle(call, ev.TakerDtmf(CALL, "7"), 125.0)  # a stray key does nothing
    assert commands == []
    for key in "*9":
        call, commands = handle(call, ev.TakerDtmf(CALL, key), 126.0)
    assert entries(commands) == ["taker-key-unknown"]
    for key in "*0":
        call, commands = handle(call, ev.TakerDtmf(CALL, key), 127.0)
    assert call.phase is Phase.WITH_AGENCY


def test_a_leg_nobody_asked_for_is_hung_up() -> None:
    _, commands = handle(connected(), ev.AgencyAnswered(CALL, leg(5)), 120.0)
    assert commands == [cmd.Hangup(leg(5))]


def test_configured_so_joined_agencies_stay_with_the_taker_after_the_caller_hangs_up() -> None:
    staying = replace(POLICY, agency_legs_end_with_caller=False)
    call = joined(replace(connected(), policy=staying))
    call, commands = handle(call, ev.CallerHungUp(CALL), 140.0)
    assert call.phase is Phase.CONNECTED and call.caller_gone and entries(commands) == ["caller-left"]
    assert not of(commands, cmd.Hangup)
    assert handle(call, ev.CallerHungUp(CALL), 140.1) == (call, [])  # the same hang-up, reported again
    call, commands = handle(call, ev.TakerLegEnded(CALL, TAKER_LEG, "Normal Clearing"), 200.0)
    assert (call.phase, call.outcome) == (Phase.ENDED, Outcome.ANSWERED)
    assert cmd.Hangup(leg(1)) in commands and cmd.DestroyBridge(BRIDGE) in commands
    assert cmd.ToAcd(acd.CallEnded("taker03")) in commands


def test_a_taker_hanging_up_before_any_agency_answered_ends_the_ringing_legs_too() -> None:
    call, _ = handle(connected(), ev.AgencyRequested(CALL, "damkar", "taker03"), 120.0)
    call, commands = handle(call, ev.TakerLegEnded(CALL, TAKER_LEG, "Normal Clearing"), 125.0)
    assert call.phase is Phase.ENDED and cmd.Hangup(leg(1)) in commands


def test_the_reason_the_api_gives_is_the_one_the_core_records() -> None:
    # The HTTP API answers 409 with agency_refusal / leave_refusal before posting; the
    # core, handed the same request, records the same reason on the timeline.
    call = joined(connected())
    reason = agency_refusal(call, "damkar")
    assert reason == "already in the call"
    _, commands = handle(call, ev.AgencyRequested(CALL, "damkar", "taker03"), 130.0)
    assert [c.detail.get("reason") for c in of(commands, cmd.RecordTimeline)] == [reason]
    assert agency_refusal(call, "ambulans") is None
    waiting = start(ev.CallArrived(CALL, "081299", "112"), 100.0, POLICY)[0]
    assert "agencies join connected calls" in (agency_refusal(waiting, "damkar") or "")
    alone = connected()
    assert leave_refusal(alone) == "no agency has joined"
    _, commands = handle(alone, ev.TakerLeaveRequested(CALL, "taker03"), 130.0)
    assert [c.detail.get("reason") for c in of(commands, cmd.RecordTimeline)] == ["no agency has joined"]
    assert leave_refusal(call) is None
