# A caller offered during the greeting (ivr.core.call_greeting through ivr.core.call), pure:
# a free call taker rings while the greeting plays, the greeting stops at their answer, an
# offer missed leaves the caller in line, a hang-up then is abandoned in the greeting.
from __future__ import annotations

from ivr.core import commands as cmd
from ivr.core import events as ev
from ivr.core.acd import events as acd
from ivr.core.call import GREETING_GUARD, REASSURE, Phase
from ivr.core.outcomes import Outcome
from tests.unit.test_call_flow import BRIDGE, CALL, LEFT, LEG1, QUEUED, Step, actions, arrive, run, timeline

OFFERED_IN_GREETING: list[Step] = [
    (101.0, ev.CallerAnswered(CALL)),
    (101.0, ev.TakerAssigned(CALL, "taker02", "PJSIP/taker02")),
]


def test_a_caller_offered_during_the_greeting_hears_it_stop_when_the_taker_answers() -> None:
    call, commands = run(arrive()[0], *OFFERED_IN_GREETING)
    assert call.phase is Phase.OFFERED and call.greeting_on
    assert cmd.OfferToTaker(CALL, "PJSIP/taker02", LEG1, CALL, "081299", 15, "112") in commands
    call, commands = run(call, (101.2, ev.TakerRinging(CALL, LEG1)))
    assert [(t.entry, t.at) for t in timeline(commands)] == [("taker-ringing", 101.2)]
    call, commands = run(call, (102.0, ev.TakerAnswered(CALL, LEG1)))
    assert call.phase is Phase.CONNECTING and not call.greeting_on
    assert cmd.StopPrompt(f"{CALL}-greeting") in commands
    assert cmd.CancelTimer(CALL, GREETING_GUARD) in commands
    assert commands[-1] == cmd.ConnectParties(BRIDGE, CALL, LEG1)
    assert "greeting-stopped" in [t.entry for t in timeline(commands)]
    # the greeting's end reported after the bridge (its playback stopped) changes nothing
    call, commands = run(call, (102.1, ev.GreetingFinished(CALL)), (102.2, ev.PartiesConnected(CALL)))
    assert call.phase is Phase.CONNECTED and not actions(commands)


def test_the_greeting_ending_while_the_offer_rings_keeps_the_offer_and_starts_reassurance() -> None:
    call, _ = run(arrive()[0], *OFFERED_IN_GREETING)
    call, commands = run(call, (108.0, ev.GreetingFinished(CALL)))
    assert call.phase is Phase.OFFERED and not call.greeting_on and call.taker == "taker02"
    assert actions(commands) == [
        cmd.CancelTimer(CALL, GREETING_GUARD),
        QUEUED,  # the ACD keeps the offer; the caller's level (screened or not) is current
        cmd.StartTimer(CALL, REASSURE, 20.0),
    ]


def test_an_offer_missed_during_the_greeting_leaves_the_caller_in_line_as_the_greeting_goes_on() -> None:
    call, _ = run(arrive()[0], *OFFERED_IN_GREETING)
    call, commands = run(call, (101.5, ev.TakerLegEnded(CALL, LEG1, "busy")))
    assert call.phase is Phase.WAITING and call.greeting_on
    assert cmd.ToAcd(acd.OfferMissed("taker02", CALL, rang=False)) in commands
    assert not [c for c in commands if isinstance(c, cmd.StartTimer)]  # no reassurance over the greeting
    call, commands = run(call, (108.0, ev.GreetingFinished(CALL)))
    assert call.phase is Phase.WAITING and not call.greeting_on
    assert cmd.StartTimer(CALL, REASSURE, 20.0) in commands


def test_a_caller_hanging_up_during_the_greeting_while_offered_abandoned_in_the_greeting() -> None:
    call, _ = run(arrive()[0], *OFFERED_IN_GREETING)
    call, commands = run(call, (103.0, ev.CallerHungUp(CALL)))
    assert (call.phase, call.outcome) == (Phase.ENDED, Outcome.ABANDONED_IN_GREETING)
    assert actions(commands) == [
        cmd.Hangup(LEG1),
        LEFT,
        cmd.FinishCall(CALL, Outcome.ABANDONED_IN_GREETING),
    ]
