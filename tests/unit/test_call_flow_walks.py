# Properties of ivr.core.call over all its inputs: every event type in every phase is
# handled without raising and only as the transition table (and so the generated state
# diagram) says; an ENDED call changes for nothing but a stray answered leg, which is
# hung up; seeded random walks finish a call at most once, with its named outcome, and
# always leave the ACD told enough to free every call taker it involved.
from __future__ import annotations

import random

import pytest

from ivr.core import commands as cmd
from ivr.core import events as ev
from ivr.core.acd import events as acd
from ivr.core.call import (
    GREETING_GUARD,
    REASSURE,
    TRANSITIONS,
    Call,
    CallPolicy,
    Phase,
    adopt,
    event_key,
    handle,
    start,
)
from ivr.core.call_state import AgencyPolicy

CALL = "1795846476.6"
POLICY = CallPolicy(agencies=(AgencyPolicy("damkar", "Damkar", ("PJSIP/damkar", "PJSIP/bpbd"), 20, "1"),))
AGENCY_LEGS = [f"{CALL}-ag{n}-damkar" for n in (1, 2)]
LEG1, LEG2 = f"{CALL}-t1", f"{CALL}-t2"
SUPERVISOR = "PJSIP/supervisor"
TO_PHASE: list[tuple[Phase, ev.CallEvent]] = [
    (Phase.GREETING, ev.CallerAnswered(CALL)),
    (Phase.WAITING, ev.GreetingFinished(CALL)),
    (Phase.OFFERED, ev.TakerAssigned(CALL, "taker02", "PJSIP/taker02")),
    (Phase.CONNECTING, ev.TakerAnswered(CALL, LEG1)),
    (Phase.CONNECTED, ev.PartiesConnected(CALL)),
]
LIVE_PHASES = [Phase.ANSWERING, *(phase for phase, _ in TO_PHASE)]


def arrive(now: float = 100.0) -> tuple[Call, list[cmd.Command]]:
    return start(ev.CallArrived(CALL, "081299", "110"), now, POLICY)


def reach(phase: Phase) -> Call:
    call, _ = arrive()
    for step, (reached, event) in enumerate(TO_PHASE, 1):
        if call.phase is phase:
            break
        call, _ = handle(call, event, 100.0 + step)
        assert call.phase is reached
    assert call.phase is phase
    return call


def timeline(commands: list[cmd.Command]) -> list[cmd.RecordTimeline]:
    return [c for c in commands if isinstance(c, cmd.RecordTimeline)]


def finishes(commands: list[cmd.Command]) -> list[cmd.FinishCall]:
    return [c for c in commands if isinstance(c, cmd.FinishCall)]


def every_event(leg: str = LEG1) -> list[ev.CallEvent]:
    """One of each event type (and of each keyed timer / failed command)."""
    failed = [
        "Answer",
        "PlayPrompt",
        "OfferToTaker",
        "ConnectParties",
        "Hangup",
        "DestroyBridge",
        "StopPrompt",
        "StartRecording",
        "CallAgency",
        "AddToBridge",
    ]
    agency = [ev.AgencyRequested(CALL, "damkar", "taker09"), ev.TakerLeaveRequested(CALL, "taker09")]
    for channel in AGENCY_LEGS:
        agency += [ev.AgencyAnswered(CALL, channel), ev.AgencyAnnounced(CALL, channel)]
        agency.append(ev.AgencyLegEnded(CALL, channel, "No Answer"))
    agency += [ev.TakerDtmf(CALL, key) for key in "*10"]
    return [
        ev.CallArrived(CALL, "081299", "112"),
        ev.CallerAnswered(CALL),
        ev.GreetingFinished(CALL),
        ev.TakerAssigned(CALL, "taker09", "PJSIP/taker09"),
        ev.Overflowed(CALL, SUPERVISOR),
        ev.TakerAnswered(CALL, leg),
        ev.TakerLegEnded(CALL, leg, "Normal Clearing"),
        ev.PartiesConnected(CALL),
        ev.CallerHungUp(CALL),
        ev.TimerFired(CALL, GREETING_GUARD),
        ev.TimerFired(CALL, REASSURE),
        ev.ShutdownRequested(CALL),
        ev.CallAdopted(CALL, "081299", "112", True, None, None),
        *agency,
        *(ev.CommandFailed(CALL, name, "gone") for name in failed),
    ]


def with_agency() -> tuple[Call, list[cmd.Command]]:
    """Connected, the fire brigade joined, the taker left: caller and agency talk."""
    call, _ = arrive(0.0)
    steps = [event for _, event in TO_PHASE] + [
        ev.AgencyRequested(CALL, "damkar", "taker02"),
        ev.AgencyAnswered(CALL, AGENCY_LEGS[0]),
        ev.AgencyAnnounced(CALL, AGENCY_LEGS[0]),
        ev.TakerLeaveRequested(CALL, "taker02"),
    ]
    for event in steps:
        call, _ = handle(call, event, 1.0)
    assert call.phase is Phase.WITH_AGENCY
    return call, []  # the taker was freed when they left: the ACD holds nothing for this call


def ended_calls() -> list[Call]:
    return [
        handle(reach(Phase.CONNECTED), ev.CallerHungUp(CALL), 500.0)[0],
        handle(reach(Phase.CONNECTED), ev.TakerLegEnded(CALL, LEG1, "Normal Clearing"), 500.0)[0],
        handle(reach(Phase.WAITING), ev.CallerHungUp(CALL), 500.0)[0],
        handle(arrive()[0], ev.CommandFailed(CALL, "Answer", "gone"), 100.1)[0],
    ]


@pytest.mark.parametrize("ended", ended_calls(), ids=lambda c: str(c.outcome))
def test_nothing_changes_an_ended_call(ended: Call) -> None:
    assert ended.phase is Phase.ENDED
    for event in every_event(leg=LEG1):
        if not isinstance(event, ev.TakerAnswered):
            assert handle(ended, event, 600.0) == (ended, []), event
    # A call taker answering a leg of a call that is over is hung up, never bridged
    # (the call's own last leg was already hung up when it ended).
    for leg in (LEG1, LEG2, f"{CALL}-t7"):
        expected = [] if leg == ended.taker_channel else [cmd.Hangup(leg)]
        assert handle(ended, ev.TakerAnswered(CALL, leg), 600.0) == (ended, expected)


def check_step(
    before: Call, event: ev.CallEvent, after: Call, commands: list[cmd.Command], now: float
) -> None:
    """What must hold for any single step."""
    transition = TRANSITIONS[before.phase].get(event_key(event))
    if transition is None:
        assert (after, commands) == (before, []), f"{before.phase}: {event} is not in the table"
    else:  # the state diagram in the docs is drawn from these targets: they must be honest
        assert after.phase in (*transition.targets, before.phase), (
            before.phase,
            event,
        )  # or ignored as stale
    assert all(c.at == now for c in timeline(commands))
    for bridged in (c for c in commands if isinstance(c, cmd.ConnectParties)):
        assert bridged.taker_channel == before.taker_channel  # only the current leg
    done = finishes(commands)
    assert len(done) <= 1 and (after.phase is Phase.ENDED and before.phase is not Phase.ENDED) == bool(done)
    if done:
        assert commands[-1] == done[0] and done[0].outcome is after.outcome


@pytest.mark.parametrize("phase", LIVE_PHASES)
def test_every_event_in_every_phase_is_handled(phase: Phase) -> None:
    for leg in (LEG1, LEG2):
        for event in every_event(leg):
            before = reach(phase)
            after, commands = handle(before, event, 700.0)
            check_step(before, event, after, commands, 700.0)


class AcdView:
    """What the ACD learns from the call's ToAcd commands (and offers it made)."""

    def __init__(self) -> None:
        self.queued = False  # in the ACD's waiting list
        self.offered: str | None = None  # taker ringing for this call
        self.on_call: str | None = None  # taker busy with this call

    def delivered(self, before: Call, event: ev.CallEvent, after: Call) -> None:
        if (
            isinstance(event, ev.TakerAssigned)
            and after.phase is Phase.OFFERED
            and before.phase is Phase.WAITING
        ):
            assert self.queued and self.offered is None and self.on_call is None
            self.offered = event.taker
        if (
            isinstance(event, ev.Overflowed)
            and after.phase is Phase.OFFERED
            and before.phase is Phase.WAITING
        ):
            self.queued = False  # the ACD takes an overflowed caller off its list

    def told(self, fact: acd.AcdEvent) -> None:
        match fact:
            case acd.CallerQueued():
                self.queued = True
            case acd.CallerLeft():
                self.queued, self.offered = False, None
            case acd.OfferAnswered(taker_id=taker):
                assert self.offered == taker and self.on_call is None
                self.queued, self.offered, self.on_call = False, None, taker
            case acd.OfferMissed(taker_id=taker):
                assert self.offered == taker
                self.offered = None
            case acd.TakerOnCall(taker_id=taker):
                self.on_call = taker
            case acd.CallEnded(taker_id=taker):
                assert self.on_call == taker, "freed an taker who was not on this call"
                self.on_call = None


def random_event(rng: random.Random, call: Call) -> ev.CallEvent:
    leg = call.taker_channel if call.taker_channel and rng.random() < 0.6 else f"{CALL}-t{rng.randint(1, 4)}"
    taker = f"taker{rng.randint(1, 20):02d}"
    return rng.choice([*every_event(leg), ev.TakerAssigned(CALL, taker, f"PJSIP/{taker}")])


def random_walk(seed: int) -> tuple[Call, list[cmd.Command], set[Phase]]:
    rng = random.Random(seed)
    starts = [
        arrive(0.0),
        adopt(ev.CallAdopted(CALL, "081299", "112", True, None, None), 0.0, POLICY),
        adopt(ev.CallAdopted(CALL, "081299", "112", True, "taker05", LEG1), 0.0, POLICY),
        with_agency(),
    ]
    call, history = rng.choice(starts)
    view, seen, now = AcdView(), {call.phase}, 0.0
    for fact in (c.event for c in history if isinstance(c, cmd.ToAcd)):
        view.told(fact)
    for _ in range(80):
        now += rng.choice([0.0, 0.5, 1.9, 2.0, 15.0])
        event = random_event(rng, call)
        before = call
        call, commands = handle(call, event, now)
        check_step(before, event, call, commands, now)
        view.delivered(before, event, call)
        for fact in (c.event for c in commands if isinstance(c, cmd.ToAcd)):
            view.told(fact)
        history += commands
        seen.add(call.phase)
        if call.phase is Phase.ENDED:  # the ACD holds nothing for a call that is over
            assert (view.queued, view.offered, view.on_call) == (False, None, None), event
    return call, history, seen


@pytest.mark.parametrize("seed", range(60))
def test_random_walk_finishes_at_most_once_and_frees_every_taker(seed: int) -> None:
    call, history, _ = random_walk(seed)
    done = finishes(history)
    assert len(done) == (1 if call.phase is Phase.ENDED else 0)
    assert call.outcome is (done[0].outcome if done else None)


def test_random_walks_reach_every_phase() -> None:
    """Guards the walks above against silently exploring only the first phases."""
    seen: set[Phase] = set()
    for seed in range(60):
        seen |= random_walk(seed)[2]
    assert seen == set(Phase)
