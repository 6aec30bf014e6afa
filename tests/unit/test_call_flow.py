# One call through ivr.core.call, scenario by scenario: the happy path, who hangs up
# first, the named outcome of a caller hanging up in each phase, ring-no-answer and
# refused offers (the ACD keeps the caller's place), overflow, reassurance, stale
# call-taker legs, failing open on the greeting, a failed answer or bridge, the shutdown
# hand-over, adoption, and timeline times. Pure: explicit `now` values, no I/O.
# (Every event in every phase, the ENDED phase and random walks: test_call_flow_walks.py.)
from __future__ import annotations

from collections.abc import Callable

import pytest

from ivr.core import commands as cmd
from ivr.core import events as ev
from ivr.core.acd import events as acd
from ivr.core.call import GREETING_GUARD, REASSURE, Call, CallPolicy, Phase, adopt, handle, start
from ivr.core.outcomes import Outcome

POLICY = CallPolicy()  # ring 15 s, guard 30 s, reassure every 20 s, refused if < 2 s
CALL = "1795846476.6"
LEG1, LEG2 = f"{CALL}-t1", f"{CALL}-t2"
BRIDGE = f"{CALL}-bridge"
SUPERVISOR = "PJSIP/supervisor"
Step = tuple[float, ev.CallEvent]

# The steps that bring a new call (arrived at t=100) to each phase, in order.
TO_PHASE: list[tuple[Phase, Step]] = [
    (Phase.GREETING, (101.0, ev.CallerAnswered(CALL))),
    (Phase.WAITING, (105.0, ev.GreetingFinished(CALL))),
    (Phase.OFFERED, (106.0, ev.TakerAssigned(CALL, "taker02", "PJSIP/taker02"))),
    (Phase.CONNECTING, (110.0, ev.TakerAnswered(CALL, LEG1))),
    (Phase.CONNECTED, (110.5, ev.PartiesConnected(CALL))),
]
QUEUED = cmd.ToAcd(acd.CallerQueued(CALL, "normal", arrived_at=100.0))


def arrive(now: float = 100.0) -> tuple[Call, list[cmd.Command]]:
    return start(ev.CallArrived(CALL, "081299", "110"), now, POLICY)


def run(call: Call, *steps: Step) -> tuple[Call, list[cmd.Command]]:
    out: list[cmd.Command] = []
    for now, event in steps:
        call, commands = handle(call, event, now)
        out += commands
    return call, out


def reach(phase: Phase) -> Call:
    call, _ = arrive()
    for reached, step in TO_PHASE:
        if call.phase is phase:
            break
        call, _ = run(call, step)
        assert call.phase is reached
    assert call.phase is phase
    return call


def actions(commands: list[cmd.Command]) -> list[cmd.Command]:
    return [c for c in commands if not isinstance(c, cmd.RecordTimeline)]


def timeline(commands: list[cmd.Command]) -> list[cmd.RecordTimeline]:
    return [c for c in commands if isinstance(c, cmd.RecordTimeline)]


def test_happy_path_commands_step_by_step() -> None:
    call, commands = arrive(100.0)
    assert call.phase is Phase.ANSWERING
    assert commands == [
        cmd.RecordTimeline(CALL, "arrived", 100.0, {"caller": "081299", "dialled": "110", "level": "normal"}),
        cmd.Answer(CALL),
    ]
    call, commands = handle(call, ev.CallerAnswered(CALL), 101.0)
    assert call.phase is Phase.GREETING
    assert actions(commands) == [
        cmd.PlayPrompt(CALL, f"{CALL}-greeting", "sound:ivr112/greeting"),
        cmd.StartTimer(CALL, GREETING_GUARD, 30.0),
        cmd.StartRecording(CALL, CALL),  # recorded from answer to end
        cmd.ToAcd(acd.CallerArrived(CALL, "normal", 100.0)),  # a free call taker takes it at once
    ]
    call, commands = handle(call, ev.GreetingFinished(CALL), 105.0)
    assert call.phase is Phase.WAITING
    # Queued with its arrival time (not the end of the greeting), reassurance armed.
    assert actions(commands) == [
        cmd.CancelTimer(CALL, GREETING_GUARD),
        QUEUED,
        cmd.StartTimer(CALL, REASSURE, 20.0),
    ]
    call, commands = handle(call, ev.TakerAssigned(CALL, "taker02", "PJSIP/taker02"), 106.0)
    assert call.phase is Phase.OFFERED
    # The caller's channel is the originator: same codec, no transcoding.
    assert actions(commands) == [cmd.OfferToTaker(CALL, "PJSIP/taker02", LEG1, CALL, "081299", 15)]
    call, commands = handle(call, ev.TakerAnswered(CALL, LEG1), 110.0)
    assert call.phase is Phase.CONNECTING
    assert actions(commands) == [
        cmd.CancelTimer(CALL, REASSURE),  # no reassurance played yet: none to stop
        cmd.ToAcd(acd.OfferAnswered("taker02", CALL)),
        cmd.ConnectParties(BRIDGE, CALL, LEG1),
    ]
    call, commands = handle(call, ev.PartiesConnected(CALL), 110.5)
    assert (call.phase, actions(commands)) == (Phase.CONNECTED, [])
    call, commands = handle(call, ev.CallerHungUp(CALL), 170.0)
    assert (call.phase, call.outcome) == (Phase.ENDED, Outcome.ANSWERED)
    assert actions(commands) == [
        cmd.Hangup(LEG1),
        cmd.ToAcd(acd.CallEnded("taker02")),
        cmd.DestroyBridge(BRIDGE),
        cmd.FinishCall(CALL, Outcome.ANSWERED),
    ]


def test_timeline_entries_carry_the_now_passed_in() -> None:
    call, first = arrive(1000.25)
    stamped = [(1000.25, c) for c in timeline(first)]
    nows = [1001.5, 1004.75, 1005.0, 1012.125, 1012.5, 1090.0]
    steps = [event for _, (_, event) in TO_PHASE] + [ev.CallerHungUp(CALL)]
    for event, now in zip(steps, nows, strict=True):
        call, commands = handle(call, event, now)
        stamped += [(now, c) for c in timeline(commands)]
    entries = ["arrived", "answered", "recording", "greeting-done", "offered", "taker-answered", "connected"]
    assert [c.entry for _, c in stamped] == [*entries, "ended"]
    assert [c.at for _, c in stamped] == [now for now, _ in stamped] == [1000.25, 1001.5, *nows]
    assert stamped[4][1].detail == {"taker": "taker02", "attempt": "1"}
    assert stamped[-1][1].detail == {"by": "caller", "outcome": "answered"}


def test_taker_hangs_up_first_ends_caller_leg_and_names_taker() -> None:
    call, commands = run(reach(Phase.CONNECTED), (150.0, ev.TakerLegEnded(CALL, LEG1, "Normal Clearing")))
    assert (call.phase, call.outcome) == (Phase.ENDED, Outcome.ANSWERED)
    assert actions(commands) == [
        cmd.Hangup(CALL),
        cmd.ToAcd(acd.CallEnded("taker02")),
        cmd.DestroyBridge(BRIDGE),
        cmd.FinishCall(CALL, Outcome.ANSWERED),
    ]
    assert timeline(commands) == [
        cmd.RecordTimeline(CALL, "ended", 150.0, {"by": "taker", "outcome": "answered"})
    ]
    assert run(call, (150.1, ev.CallerHungUp(CALL))) == (call, [])  # the caller's own hang-up follows


LEFT = cmd.ToAcd(acd.CallerLeft(CALL))
ENDED_ON_CALL = [cmd.Hangup(LEG1), cmd.ToAcd(acd.CallEnded("taker02")), cmd.DestroyBridge(BRIDGE)]


@pytest.mark.parametrize(
    ("phase", "outcome", "expected"),
    [
        (Phase.ANSWERING, Outcome.ABANDONED_IN_GREETING, []),
        (Phase.GREETING, Outcome.ABANDONED_IN_GREETING, [LEFT]),
        (Phase.WAITING, Outcome.ABANDONED_IN_QUEUE, [LEFT]),
        (Phase.OFFERED, Outcome.ABANDONED_IN_QUEUE, [cmd.Hangup(LEG1), LEFT]),
        (Phase.CONNECTING, Outcome.ANSWERED, ENDED_ON_CALL),
        (Phase.CONNECTED, Outcome.ANSWERED, ENDED_ON_CALL),
    ],
)
def test_caller_hangs_up_in_each_phase(phase: Phase, outcome: Outcome, expected: list[cmd.Command]) -> None:
    # The ARI stream reports one hang-up several times (HangupRequest, StasisEnd, Destroyed).
    call, commands = run(reach(phase), *((200.0 + i, ev.CallerHungUp(CALL)) for i in range(3)))
    assert (call.phase, call.outcome) == (Phase.ENDED, outcome)
    assert actions(commands) == [*expected, cmd.FinishCall(CALL, outcome)]
    assert timeline(commands)[-1].detail == {"by": "caller", "outcome": outcome.value}


@pytest.mark.parametrize(
    ("elapsed", "failure", "rang"),
    [
        (15.0, lambda: ev.TakerLegEnded(CALL, LEG1, "No answer"), True),  # rang out
        (2.0, lambda: ev.TakerLegEnded(CALL, LEG1, "Busy"), True),  # exactly the limit
        (1.9, lambda: ev.TakerLegEnded(CALL, LEG1, "Busy"), False),  # refused at once
        (0.0, lambda: ev.CommandFailed(CALL, "OfferToTaker", "endpoint not found"), False),
        # the request to ring the phone timed out (Asterisk overloaded): whatever it took,
        # the call taker missed nothing (counted, two such would pause them in a surge)
        (3.0, lambda: ev.CommandFailed(CALL, "OfferToTaker", "ARI originate: TimeoutError"), False),
    ],
)
def test_failed_offer_goes_back_to_waiting_in_its_place(
    elapsed: float, failure: Callable[[], ev.CallEvent], rang: bool
) -> None:
    now = 106.0 + elapsed  # offered at 106.0
    call, commands = run(reach(Phase.OFFERED), (now, failure()))
    assert (call.phase, call.taker, call.taker_channel) == (Phase.WAITING, None, None)
    # The taker is freed (the ACD rests a refusing phone); the caller is not queued anew.
    assert actions(commands) == [cmd.Hangup(LEG1), cmd.ToAcd(acd.OfferMissed("taker02", CALL, rang=rang))]
    assert [(c.entry, c.detail["taker"]) for c in timeline(commands)] == [("offer-failed", "taker02")]
    call, commands = run(call, (now + 0.5, ev.TakerAssigned(CALL, "taker03", "PJSIP/taker03")))
    assert (call.phase, call.offers) == (Phase.OFFERED, 2)
    assert actions(commands) == [cmd.OfferToTaker(CALL, "PJSIP/taker03", LEG2, CALL, "081299", 15)]


def test_overflow_offers_the_target_and_counts_as_overflowed() -> None:
    call, commands = run(reach(Phase.WAITING), (165.0, ev.Overflowed(CALL, SUPERVISOR)))
    assert (call.phase, call.taker, call.overflow_target) == (Phase.OFFERED, None, SUPERVISOR)
    assert actions(commands) == [cmd.OfferToTaker(CALL, SUPERVISOR, LEG1, CALL, "081299", 15)]
    assert timeline(commands)[0].entry == "overflowed"
    call, commands = run(call, (170.0, ev.TakerAnswered(CALL, LEG1)), (170.2, ev.PartiesConnected(CALL)))
    assert not any(isinstance(c, cmd.ToAcd) for c in commands)  # the supervisor is no ACD taker
    call, commands = run(call, (200.0, ev.CallerHungUp(CALL)))
    assert call.outcome is Outcome.OVERFLOWED
    assert actions(commands) == [
        cmd.Hangup(LEG1),
        cmd.DestroyBridge(BRIDGE),
        cmd.FinishCall(CALL, Outcome.OVERFLOWED),
    ]


def test_overflow_target_not_answering_puts_the_caller_back_without_a_second_overflow() -> None:
    call, _ = run(reach(Phase.WAITING), (165.0, ev.Overflowed(CALL, SUPERVISOR)))
    call, commands = run(call, (180.0, ev.TakerLegEnded(CALL, LEG1, "No answer")))
    assert (call.phase, call.overflow_target) == (Phase.WAITING, None)
    again = cmd.ToAcd(acd.CallerQueued(CALL, "normal", arrived_at=100.0, overflow=False))
    assert actions(commands) == [cmd.Hangup(LEG1), again]


def test_reassurance_repeats_while_waiting_and_ringing_and_stops_on_answer() -> None:
    call = reach(Phase.WAITING)
    call, first = run(call, (125.0, ev.TimerFired(CALL, REASSURE)))
    assert actions(first) == [
        cmd.PlayPrompt(CALL, f"{CALL}-reassure1", "sound:ivr112/reassurance"),
        cmd.StartTimer(CALL, REASSURE, 20.0),
    ]
    call, _ = run(call, (130.0, ev.TakerAssigned(CALL, "taker02", "PJSIP/taker02")))
    call, second = run(call, (145.0, ev.TimerFired(CALL, REASSURE)))
    assert cmd.PlayPrompt(CALL, f"{CALL}-reassure2", "sound:ivr112/reassurance") in second
    call, answered = run(call, (146.0, ev.TakerAnswered(CALL, LEG1)))
    assert actions(answered)[:2] == [cmd.CancelTimer(CALL, REASSURE), cmd.StopPrompt(f"{CALL}-reassure2")]
    assert run(call, (166.0, ev.TimerFired(CALL, REASSURE))) == (call, [])  # a late tick plays nothing


@pytest.mark.parametrize(
    "failure",
    [ev.TakerLegEnded(CALL, LEG1, "Normal Clearing"), ev.CommandFailed(CALL, "ConnectParties", "gone")],
)
def test_failed_bridge_frees_the_taker_and_requeues_in_place(failure: ev.CallEvent) -> None:
    call, commands = run(reach(Phase.CONNECTING), (111.0, failure))
    assert (call.phase, call.taker_channel) == (Phase.WAITING, None)
    assert actions(commands) == [
        cmd.Hangup(LEG1),
        cmd.DestroyBridge(f"{CALL}-bridge"),  # the half-made bridge never lingers
        cmd.ToAcd(acd.CallEnded("taker02")),
        QUEUED,
        cmd.StartTimer(CALL, REASSURE, 20.0),
    ]


def test_failed_bridge_with_the_overflow_target_requeues_without_a_second_overflow() -> None:
    call, _ = run(reach(Phase.WAITING), (165.0, ev.Overflowed(CALL, SUPERVISOR)))
    call, _ = run(call, (166.0, ev.TakerAnswered(CALL, LEG1)))
    call, commands = run(call, (167.0, ev.CommandFailed(CALL, "ConnectParties", "gone")))
    assert cmd.ToAcd(acd.CallerQueued(CALL, "normal", arrived_at=100.0, overflow=False)) in commands
    assert not any(isinstance(c, cmd.ToAcd) and isinstance(c.event, acd.CallEnded) for c in commands)


def test_adopted_call_bridged_with_the_overflow_target_ends_as_overflowed() -> None:
    adopted = ev.CallAdopted(
        CALL,
        "0812",
        "112",
        answered=True,
        taker=None,
        taker_channel=LEG1,
        overflow_target=SUPERVISOR,
        arrived_at=100.0,
    )
    call, commands = adopt(adopted, 300.0, CallPolicy())
    assert call.phase is Phase.CONNECTED and not any(isinstance(c, cmd.ToAcd) for c in commands)
    call, commands = run(call, (310.0, ev.CallerHungUp(CALL)))
    assert commands[-1] == cmd.FinishCall(CALL, Outcome.OVERFLOWED)


def second_offer() -> Call:
    """Offered to taker03 on '-t2' after taker02's '-t1' rang out."""
    call, _ = run(
        reach(Phase.OFFERED),
        (121.0, ev.TakerLegEnded(CALL, LEG1, "No answer")),
        (121.0, ev.TakerAssigned(CALL, "taker03", "PJSIP/taker03")),
    )
    assert (call.phase, call.taker_channel) == (Phase.OFFERED, LEG2)
    return call


def waiting_after_ring_out() -> Call:
    return run(reach(Phase.OFFERED), (121.0, ev.TakerLegEnded(CALL, LEG1, "No answer")))[0]


def connected_on_second_leg() -> Call:
    call, _ = run(second_offer(), (125.0, ev.TakerAnswered(CALL, LEG2)), (125.2, ev.PartiesConnected(CALL)))
    assert call.phase is Phase.CONNECTED
    return call


@pytest.mark.parametrize("make", [waiting_after_ring_out, second_offer, connected_on_second_leg])
@pytest.mark.parametrize(
    ("stale", "expected"),
    [
        (ev.TakerLegEnded(CALL, LEG1, "Normal Clearing"), []),
        (ev.TakerAnswered(CALL, LEG1), [cmd.Hangup(LEG1)]),
    ],
)
def test_stale_leg_never_ends_or_bridges_the_call(
    make: Callable[[], Call], stale: ev.CallEvent, expected: list[cmd.Command]
) -> None:
    before = make()
    assert handle(before, stale, 130.0) == (before, expected)


@pytest.mark.parametrize(
    ("event", "entry", "detail"),
    [
        (ev.GreetingFinished(CALL), "greeting-done", {}),
        (ev.TimerFired(CALL, GREETING_GUARD), "greeting-timeout", {}),
        (
            ev.CommandFailed(CALL, "PlayPrompt", "sound not found"),
            "greeting-failed",
            {"reason": "sound not found"},
        ),
    ],
)
def test_greeting_fails_open_to_waiting_once(event: ev.CallEvent, entry: str, detail: dict[str, str]) -> None:
    call, commands = run(reach(Phase.GREETING), (131.0, event))
    assert call.phase is Phase.WAITING
    assert actions(commands) == [
        cmd.CancelTimer(CALL, GREETING_GUARD),
        QUEUED,
        cmd.StartTimer(CALL, REASSURE, 20.0),
    ]
    assert timeline(commands) == [cmd.RecordTimeline(CALL, entry, 131.0, detail)]
    # A late end of greeting or guard timer does not queue the caller a second time.
    assert run(call, (132.0, ev.GreetingFinished(CALL)), (132.0, ev.TimerFired(CALL, GREETING_GUARD))) == (
        call,
        [],
    )


def test_failed_answer_hands_the_caller_to_the_native_queue_never_hangs_up() -> None:
    call, commands = run(arrive()[0], (100.2, ev.CommandFailed(CALL, "Answer", "TimeoutError")))
    assert (call.phase, call.outcome) == (Phase.ENDED, Outcome.HANDED_TO_FALLBACK)
    assert not any(isinstance(c, cmd.Hangup) for c in commands)
    assert cmd.ContinueInDialplan(CALL, "handover") in commands
    assert [(c.entry, c.detail) for c in timeline(commands)] == [
        ("answer-failed", {"reason": "TimeoutError"}),
        ("ended", {"by": "system", "outcome": "handed-to-fallback"}),
    ]


HANDOVER = cmd.ContinueInDialplan(CALL, "handover")


@pytest.mark.parametrize(
    ("phase", "expected"),
    [
        (Phase.ANSWERING, [LEFT, HANDOVER]),
        (Phase.GREETING, [LEFT, HANDOVER]),
        (Phase.WAITING, [LEFT, HANDOVER]),
        (Phase.OFFERED, [cmd.Hangup(LEG1), LEFT, HANDOVER]),
    ],
)
def test_shutdown_hands_unconnected_caller_to_native_queue(phase: Phase, expected: list[cmd.Command]) -> None:
    call, commands = run(reach(phase), (300.0, ev.ShutdownRequested(CALL)))
    assert call.outcome is Outcome.HANDED_TO_FALLBACK
    assert actions(commands) == [*expected, cmd.FinishCall(CALL, Outcome.HANDED_TO_FALLBACK)]


@pytest.mark.parametrize(
    ("phase", "expected"),
    [
        (Phase.ANSWERING, [LEFT]),
        (Phase.GREETING, [LEFT]),
        (Phase.WAITING, [LEFT]),
        (Phase.OFFERED, [cmd.Hangup(LEG1), LEFT]),
    ],
)
def test_a_caller_the_watchdog_took_over_is_let_go_never_hung_up(
    phase: Phase, expected: list[cmd.Command]
) -> None:
    """Back from a hang (or a lost connection), the control plane finds its caller moved to
    the native queue: it ends the call handed-to-fallback, drops its own leg, and neither
    hangs up the caller nor sends it anywhere."""
    call, commands = run(reach(phase), (300.0, ev.CallerLeftApp(CALL)))
    assert call.outcome is Outcome.HANDED_TO_FALLBACK
    assert actions(commands) == [*expected, cmd.FinishCall(CALL, Outcome.HANDED_TO_FALLBACK)]
    assert not any(isinstance(c, cmd.Hangup) and c.channel_id == CALL for c in commands)
    assert not any(isinstance(c, cmd.ContinueInDialplan) for c in commands)
    ended = [c for c in commands if isinstance(c, cmd.RecordTimeline) and c.entry == "ended"]
    assert ended[0].detail == {"by": "watchdog", "outcome": "handed-to-fallback"}


def test_a_hang_up_then_the_app_left_is_one_ending() -> None:
    """A real hang-up is reported before StasisEnd: the call ends once, as abandoned."""
    call, _ = run(reach(Phase.WAITING), (300.0, ev.CallerHungUp(CALL)))
    assert run(call, (300.1, ev.CallerLeftApp(CALL))) == (call, [])


@pytest.mark.parametrize("phase", [Phase.CONNECTING, Phase.CONNECTED])
def test_shutdown_leaves_a_connecting_or_connected_call_up(phase: Phase) -> None:
    before = reach(phase)
    assert run(before, (300.0, ev.ShutdownRequested(CALL))) == (before, [])


@pytest.mark.parametrize(
    ("answered", "taker", "leg", "phase", "expected"),
    [
        (False, None, None, Phase.ANSWERING, [cmd.Answer(CALL)]),
        (True, None, None, Phase.WAITING, [QUEUED, cmd.StartTimer(CALL, REASSURE, 0.1)]),
        (True, "taker05", LEG2, Phase.CONNECTED, [cmd.ToAcd(acd.TakerOnCall("taker05", CALL))]),
    ],
)
def test_adopted_call_resumes_where_asterisk_has_it(
    answered: bool, taker: str | None, leg: str | None, phase: Phase, expected: list[cmd.Command]
) -> None:
    adopted = ev.CallAdopted(CALL, "081299", "112", answered, taker, leg, arrived_at=100.0)
    call, commands = adopt(adopted, 400.0, POLICY)
    assert (call.phase, call.taker, call.taker_channel) == (phase, taker, leg)
    assert actions(commands) == expected  # a waiting caller keeps its place (arrived 100.0)
    assert timeline(commands)[0].at == 400.0


def test_a_caller_greeted_by_the_dialplan_is_queued_at_once_keeping_its_arrival() -> None:
    arrived = ev.CallArrived("c9", "0812", "112", greeted=True, arrived_at=90.0)
    call, commands = start(arrived, 100.0, CallPolicy())
    assert call.phase is Phase.WAITING and call.arrived_at == 90.0
    assert not [c for c in commands if isinstance(c, cmd.Answer | cmd.PlayPrompt)]  # no second greeting
    entries = [(c.entry, c.at) for c in commands if isinstance(c, cmd.RecordTimeline)]
    assert entries == [("arrived", 90.0), ("greeted-in-dialplan", 100.0), ("recording", 100.0)]
    assert cmd.ToAcd(acd.CallerQueued("c9", "normal", arrived_at=90.0, overflow=True)) in commands
    assert cmd.StartRecording("c9", "c9") in commands


@pytest.mark.parametrize("greeted", [False, True])
def test_a_call_the_dialplan_records_is_not_recorded_twice(greeted: bool) -> None:
    arrived = ev.CallArrived("c8", "0812", "112", greeted=greeted, arrived_at=90.0, recorded=True)
    call, commands = start(arrived, 100.0, CallPolicy())
    if not greeted:
        call, commands = handle(call, ev.CallerAnswered("c8"), 101.0)
    assert not [c for c in commands if isinstance(c, cmd.StartRecording)]
    (noted,) = [c for c in timeline(commands) if c.entry == "recording"]
    assert noted.detail == {"recording": "c8", "recorder": "dialplan"}  # where the API finds it


def test_an_adopted_caller_with_no_record_gets_one_from_its_arrival() -> None:
    adopted = ev.CallAdopted("c7", "0812", "112", answered=False, taker=None, taker_channel=None,
                             arrived_at=95.0, recorded=False)  # fmt: skip
    call, commands = adopt(adopted, 100.0, CallPolicy())
    entries = [(c.entry, c.at) for c in commands if isinstance(c, cmd.RecordTimeline)]
    assert entries == [("arrived", 95.0), ("adopted", 100.0)] and call.arrived_at == 95.0
    assert cmd.Answer("c7") in commands


def test_a_withheld_number_is_recorded_but_the_taker_is_offered_anonymous() -> None:
    call, commands = start(ev.CallArrived(CALL, "081299", "112", withheld=True), 100.0, POLICY)
    assert timeline(commands)[0].detail == {"caller": "081299", "dialled": "112", "level": "normal",
                                            "withheld": "yes"}  # fmt: skip
    call, commands = run(call, *(step for _, step in TO_PHASE[:3]))
    offer = next(c for c in commands if isinstance(c, cmd.OfferToTaker))
    assert offer.caller_number == "anonymous" and call.caller_number == "081299"
    assert call.shown_number == "anonymous" and reach(Phase.WAITING).shown_number == "081299"
