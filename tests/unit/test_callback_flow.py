# The callback flow (ivr.core.callback) driven directly: the call taker is rung first
# and held by the ACD, the number is dialled once they answer, both are bridged and
# recorded when the person answers, and every way it can end tears down the legs,
# frees the call taker and records one result on the abandoned call.
from __future__ import annotations

from ivr.core import callback as cb
from ivr.core import commands as cmd
from ivr.core import events as ev
from ivr.core.acd import events as acd
from ivr.core.outcomes import Outcome

CALL = "1764300000.7"
ID = f"{CALL}-cb1"
POLICY = cb.CallbackPolicy(trunk="PJSIP/{number}@carrier", taker_ring_seconds=15, dial_seconds=40)


def started() -> tuple[cb.Callback, list[cmd.Command]]:
    return cb.start(CALL, 1, "081234567890", "taker03", "PJSIP/taker03", "sup1", POLICY, 100.0)


def of(commands: list[cmd.Command], kind: type) -> list:
    return [c for c in commands if isinstance(c, kind)]


def original_entries(commands: list[cmd.Command]) -> list[tuple[str, dict[str, str]]]:
    return [(c.entry, c.detail) for c in of(commands, cmd.RecordTimeline) if c.call_id == CALL]


def walk(*events: ev.CallEvent) -> tuple[cb.Callback, list[cmd.Command]]:
    state, commands = started()
    every = list(commands)
    for i, event in enumerate(events):
        state, commands = cb.handle(state, event, 101.0 + i)
        every += commands
    return state, every


def test_the_call_taker_rings_first_and_is_held_for_the_callback() -> None:
    state, commands = started()
    assert state.call_id == ID and state.phase is cb.CallbackPhase.RINGING_TAKER
    assert of(commands, cmd.ToAcd) == [cmd.ToAcd(acd.TakerOnCall("taker03", ID))]
    [offer] = of(commands, cmd.OfferToTaker)
    assert offer.endpoint == "PJSIP/taker03" and offer.caller_number == "081234567890"
    assert offer.caller_name == "112 PANGGIL BALIK" and offer.ring_seconds == 15
    assert not of(commands, cmd.DialOut)  # nobody is dialled before the taker is there
    [arrived] = [c for c in of(commands, cmd.RecordTimeline) if c.call_id == ID]
    assert arrived.entry == "arrived" and arrived.detail["callback_of"] == CALL
    assert original_entries(commands) == [
        ("callback-started", {"callback": ID, "callback_taker": "taker03", "requested_by": "sup1"})
    ]


def test_the_number_is_dialled_through_the_trunk_once_the_taker_answers() -> None:
    state, commands = walk(ev.TakerAnswered(ID, f"{ID}-t1"))
    assert state.phase is cb.CallbackPhase.DIALLING
    [dial] = of(commands, cmd.DialOut)
    assert dial.endpoint == "PJSIP/081234567890@carrier" and dial.channel_id == f"{ID}-out"
    assert dial.ring_seconds == 40
    [ringing] = of(commands, cmd.PlayPrompt)
    assert ringing.channel_id == f"{ID}-t1" and ringing.media == "tone:ring"


def test_an_answer_bridges_and_records_and_a_hangup_ends_reached() -> None:
    state, commands = walk(
        ev.TakerAnswered(ID, f"{ID}-t1"),
        ev.CalleeAnswered(ID, f"{ID}-out"),
        ev.PartiesConnected(ID),
        ev.CalleeLegEnded(ID, f"{ID}-out", "Normal Clearing"),
    )
    assert state.phase is cb.CallbackPhase.ENDED and state.outcome is Outcome.CALLBACK_REACHED
    assert of(commands, cmd.ConnectParties) == [cmd.ConnectParties(f"{ID}-bridge", f"{ID}-out", f"{ID}-t1")]
    assert of(commands, cmd.StartRecording) == [cmd.StartRecording(ID, f"{ID}-out")]
    assert of(commands, cmd.Hangup) == [cmd.Hangup(f"{ID}-t1")]  # the caller's leg is gone already
    assert of(commands, cmd.DestroyBridge) == [cmd.DestroyBridge(f"{ID}-bridge")]
    assert cmd.ToAcd(acd.CallEnded("taker03")) in commands
    results = [d["result"] for e, d in original_entries(commands) if e == "callback-result"]
    assert results == ["reached"]
    assert of(commands, cmd.FinishCall) == [cmd.FinishCall(ID, Outcome.CALLBACK_REACHED)]


def test_a_busy_number_is_unreached_and_the_taker_is_released() -> None:
    state, commands = walk(ev.TakerAnswered(ID, f"{ID}-t1"), ev.CalleeLegEnded(ID, f"{ID}-out", "User busy"))
    assert state.outcome is Outcome.CALLBACK_UNREACHED
    assert of(commands, cmd.Hangup) == [cmd.Hangup(f"{ID}-t1")]
    assert not of(commands, cmd.DestroyBridge)
    assert (
        "callback-result",
        {"callback": ID, "result": "unreached", "cause": "User busy"},
    ) in original_entries(commands)
    assert cmd.ToAcd(acd.CallEnded("taker03")) in commands


def test_a_taker_who_does_not_answer_cancels_without_dialling() -> None:
    state, commands = walk(ev.TakerLegEnded(ID, f"{ID}-t1", "No answer"))
    assert state.outcome is Outcome.CALLBACK_CANCELLED
    assert not of(commands, cmd.DialOut) and not of(commands, cmd.Hangup)
    assert cmd.ToAcd(acd.CallEnded("taker03")) in commands


def test_a_taker_hanging_up_while_dialling_stops_the_dialling() -> None:
    state, commands = walk(
        ev.TakerAnswered(ID, f"{ID}-t1"), ev.TakerLegEnded(ID, f"{ID}-t1", "Normal Clearing")
    )
    assert state.outcome is Outcome.CALLBACK_CANCELLED
    assert of(commands, cmd.Hangup) == [cmd.Hangup(f"{ID}-out")]


def test_a_refused_dial_string_is_unreached() -> None:
    state, _ = walk(ev.TakerAnswered(ID, f"{ID}-t1"), ev.CommandFailed(ID, "DialOut", "Allocation failed"))
    assert state.outcome is Outcome.CALLBACK_UNREACHED


def test_events_after_the_end_change_nothing() -> None:
    state, _ = walk(ev.TakerLegEnded(ID, f"{ID}-t1", "No answer"))
    assert cb.handle(state, ev.CalleeAnswered(ID, f"{ID}-out"), 200.0) == (state, [])
