# Who answers which caller, seen end to end through the pure centre (ivr.core.centre):
# the call flow and the ACD routed as the engine routes them, with the phones and people
# around them played here, synchronously and without a clock. Callers are served in
# arrival order and keep their place after a ring-no-answer; the longest-idle call taker
# goes first; busy and unreachable takers are skipped and used again; a caller who hangs
# up leaves the line and frees a ringing taker; a freed taker takes the next caller at
# once; random traffic never gives a taker two calls and never leaves a caller unserved.
from __future__ import annotations

import random
from collections import deque
from dataclasses import replace

import pytest

from ivr.core import commands as cmd
from ivr.core import events as ev
from ivr.core.acd import events as acd
from ivr.core.acd.model import AcdPolicy, AcdState, PriorityLevel, Taker
from ivr.core.call import Call, CallPolicy, Phase
from ivr.core.centre import Centre, handle
from ivr.core.centre_events import Carry, CentreEvent
from ivr.core.outcomes import Outcome
from ivr.core.routing import Routing

POLICY = CallPolicy()
SUPERVISOR = "PJSIP/supervisor"


class World:
    """The centre, and the phones and Asterisk around it: what the adapters report back."""

    def __init__(self, *takers: str, max_wait: float | None = None) -> None:
        level = PriorityLevel("normal", 200, max_wait, SUPERVISOR if max_wait else None)
        policy = AcdPolicy({"normal": level}, "normal", wrapup_seconds=0, missed_offers_to_pause=99)
        acd_state = AcdState(policy, {a: Taker(a, f"PJSIP/{a}") for a in takers})
        self.centre = Centre(acd_state, Routing(call=POLICY))
        self.now = 1000.0
        self.calls: dict[str, Call] = {}  # every call so far, the ended ones as they ended
        self.legs: dict[str, tuple[str, str]] = {}  # live taker leg -> (call, endpoint)
        self.offers: list[tuple[str, str]] = []  # (call, endpoint), in order
        self.outcomes: dict[str, Outcome] = {}
        self._pending: deque[CentreEvent] = deque()
        for taker in takers:  # logged in in this order: the first has been idle longest
            self.now += 1
            self.tell(acd.TakerLoggedIn(taker))

    @property
    def acd(self) -> AcdState:
        return self.centre.acd

    def tell(self, event: CentreEvent) -> None:
        """A fact for the centre (a phone's reachability, time passing, a call's event)."""
        self._pending.append(event)
        while self._pending:
            self.centre, orders = handle(self.centre, self._pending.popleft(), self.now)
            for order in orders:
                if isinstance(order, Carry):
                    self._execute(order.owner, order.command)
            for call_id, call in self.calls.items():
                if call_id not in self.centre.calls and call.phase is not Phase.ENDED:
                    self.calls[call_id] = replace(call, phase=Phase.ENDED)
            self.calls.update(self.centre.calls)

    tell_acd = tell

    def post(self, call_id: str, event: ev.CallEvent) -> None:
        self.tell(event)

    def _execute(self, call_id: str, command: cmd.Command) -> None:
        match command:
            case cmd.Answer():
                self._pending.append(ev.CallerAnswered(call_id))
            case cmd.OfferToTaker(channel_id=leg, endpoint=endpoint):
                busy = [c for c, e in self.legs.values() if e == endpoint]
                assert not busy, f"{endpoint} offered {call_id} while on {busy}"
                taker = next((a for a in self.acd.takers.values() if a.endpoint == endpoint), None)
                assert taker is None or taker.reachable, f"{endpoint} is unreachable"
                self.legs[leg] = (call_id, endpoint)
                self.offers.append((call_id, endpoint.removeprefix("PJSIP/")))
            case cmd.ConnectParties():
                self._pending.append(ev.PartiesConnected(call_id))
            case cmd.Hangup(channel_id):
                self.legs.pop(channel_id, None)
            case cmd.FinishCall(outcome=outcome):
                assert call_id not in self.outcomes
                self.outcomes[call_id] = outcome

    # ---- what people do ------------------------------------------------------------
    def arrive(self, call_id: str) -> None:
        self.now += 1
        self.tell(ev.CallArrived(call_id, "0812", "112"))
        self.post(call_id, ev.GreetingFinished(call_id))

    def leg_at(self, taker: str) -> tuple[str, str]:
        (leg,) = [leg for leg, (_, e) in self.legs.items() if e.removeprefix("PJSIP/") == taker]
        return leg, self.legs[leg][0]

    def answers(self, taker: str) -> None:
        leg, call_id = self.leg_at(taker)
        self.now += 3
        self.post(call_id, ev.TakerAnswered(call_id, leg))

    def leg_ends(self, taker: str, after: float = 15.0) -> None:
        leg, call_id = self.leg_at(taker)
        self.now += after
        del self.legs[leg]
        self.post(call_id, ev.TakerLegEnded(call_id, leg, "Normal Clearing"))

    def serve(self, taker: str) -> None:
        self.answers(taker)
        self.leg_ends(taker, after=60)

    def ringing(self) -> dict[str, str]:
        """taker -> call, for offers not answered yet."""
        return {
            e.removeprefix("PJSIP/"): c
            for leg, (c, e) in self.legs.items()
            if self.calls[c].phase is Phase.OFFERED and self.calls[c].taker_channel == leg
        }


def test_callers_are_served_in_arrival_order() -> None:
    centre = World("a")
    for call_id in ("c1", "c2", "c3", "c4"):
        centre.arrive(call_id)
    assert centre.ringing() == {"a": "c1"}
    for _ in range(4):
        centre.serve("a")
    assert centre.offers == [("c1", "a"), ("c2", "a"), ("c3", "a"), ("c4", "a")]
    assert set(centre.outcomes.values()) == {Outcome.ANSWERED}


def test_the_longest_idle_taker_goes_first_so_takers_take_turns() -> None:
    centre = World("a", "b", "c")
    for n in range(5):
        centre.arrive(f"c{n}")
        centre.serve(centre.offers[-1][1])
    assert [taker for _, taker in centre.offers] == ["a", "b", "c", "a", "b"]


def test_a_busy_taker_is_skipped() -> None:
    centre = World("a", "b")
    centre.arrive("c1")
    centre.answers("a")
    centre.arrive("c2")
    assert centre.ringing() == {"b": "c2"}


def test_an_unreachable_taker_is_skipped_and_used_again_when_reachable() -> None:
    centre = World("a", "b", "c")
    centre.tell_acd(acd.TakerReachability("a", False))
    centre.arrive("c1")
    assert centre.ringing() == {"b": "c1"}
    centre.tell_acd(acd.TakerReachability("a", True))
    centre.arrive("c2")
    assert centre.ringing() == {"b": "c1", "a": "c2"}


def test_with_every_taker_unreachable_the_caller_waits_and_is_not_refused() -> None:
    centre = World("a")
    centre.tell_acd(acd.TakerReachability("a", False))
    centre.arrive("c1")
    centre.now += 600
    centre.tell_acd(acd.Tick())
    assert (centre.offers, centre.outcomes, centre.calls["c1"].phase) == ([], {}, Phase.WAITING)
    centre.tell_acd(acd.TakerReachability("a", True))
    assert centre.ringing() == {"a": "c1"}


def test_ring_no_answer_offers_the_next_taker_at_once() -> None:
    centre = World("a", "b")
    centre.arrive("c1")
    centre.leg_ends("a", after=15)
    assert centre.ringing() == {"b": "c1"}
    assert centre.calls["c1"].phase is Phase.OFFERED


def test_a_caller_whose_taker_did_not_answer_keeps_its_place_in_line() -> None:
    centre = World("a", "b")
    centre.arrive("c1")  # rings at a
    centre.arrive("c2")  # rings at b
    centre.answers("b")
    centre.arrive("c3")  # waits behind c1
    centre.leg_ends("a", after=15)  # a did not answer c1; a is the only free taker
    assert centre.ringing() == {"a": "c1"}  # c1 first again, not c3


def test_a_caller_who_hangs_up_while_waiting_leaves_the_line() -> None:
    centre = World("a")
    for call_id in ("c1", "c2", "c3"):
        centre.arrive(call_id)
    centre.post("c2", ev.CallerHungUp("c2"))
    assert centre.outcomes == {"c2": Outcome.ABANDONED_IN_QUEUE}
    centre.serve("a")
    assert centre.ringing() == {"a": "c3"}


def test_a_caller_who_hangs_up_while_ringing_frees_the_taker_at_once() -> None:
    centre = World("a")
    centre.arrive("c1")
    centre.post("c1", ev.CallerHungUp("c1"))
    assert centre.legs == {}  # the ringing phone stops
    centre.arrive("c2")
    assert centre.ringing() == {"a": "c2"}


def test_a_taker_freed_by_a_call_ending_takes_the_waiting_caller_at_once() -> None:
    centre = World("a")
    centre.arrive("c1")
    centre.answers("a")
    centre.arrive("c2")
    assert centre.ringing() == {}
    centre.post("c1", ev.CallerHungUp("c1"))  # the caller ends the call: a is free (no wrap-up)
    assert centre.ringing() == {"a": "c2"}


def test_a_caller_waiting_too_long_overflows_to_the_supervisor() -> None:
    centre = World("a", max_wait=60)
    centre.arrive("c1")
    centre.answers("a")
    centre.arrive("c2")
    centre.now += 59
    centre.tell_acd(acd.Tick())
    assert centre.ringing() == {}  # not yet
    centre.now += 2
    centre.tell_acd(acd.Tick())
    assert centre.ringing() == {"supervisor": "c2"}
    centre.serve("supervisor")
    assert centre.outcomes["c2"] is Outcome.OVERFLOWED


@pytest.mark.parametrize("seed", range(12))
def test_random_traffic_never_double_books_and_serves_everyone(seed: int) -> None:
    rng = random.Random(seed)
    takers = [f"t{n}" for n in range(1, 5)]
    centre = World(*takers)
    abandoned: set[str] = set()
    for step in range(150):
        roll = rng.random()
        ringing = centre.ringing()
        on_call = [
            e.removeprefix("PJSIP/")
            for _, e in centre.legs.values()
            if e.removeprefix("PJSIP/") not in ringing
        ]
        if roll < 0.3:
            centre.arrive(f"c{step}")
        elif roll < 0.45 and ringing:
            centre.answers(rng.choice(sorted(ringing)))
        elif roll < 0.55 and ringing:
            centre.leg_ends(rng.choice(sorted(ringing)), after=rng.choice([0.5, 15.0]))
        elif roll < 0.7 and on_call:
            centre.leg_ends(rng.choice(sorted(on_call)), after=30)
        elif roll < 0.78:
            live = sorted(c for c, call in centre.calls.items() if call.phase is not Phase.ENDED)
            if live:
                abandoned.add(victim := rng.choice(live))
                centre.post(victim, ev.CallerHungUp(victim))
        elif roll < 0.9:
            centre.tell_acd(acd.TakerReachability(rng.choice(takers), rng.random() < 0.6))
        centre.now += rng.random() * 10
        centre.tell_acd(acd.Tick())  # resting takers come back (the engine's timer)
    for taker in takers:  # the end of the shift: everyone reachable, every caller served
        centre.tell_acd(acd.TakerReachability(taker, True))
    for _ in range(1000):
        centre.now += 10
        centre.tell_acd(acd.Tick())
        if not centre.legs and all(c.phase is Phase.ENDED for c in centre.calls.values()):
            break
        for taker, _ in sorted(centre.ringing().items()):
            centre.serve(taker)
        for leg, (_, endpoint) in sorted(centre.legs.items()):
            if leg in centre.legs and endpoint.removeprefix("PJSIP/") not in centre.ringing():
                centre.leg_ends(endpoint.removeprefix("PJSIP/"), after=5)
    assert all(call.phase is Phase.ENDED for call in centre.calls.values()), "a caller was never served"
    for call_id, outcome in centre.outcomes.items():
        expected = (
            {Outcome.ANSWERED, Outcome.ABANDONED_IN_QUEUE} if call_id in abandoned else {Outcome.ANSWERED}
        )
        assert outcome in expected, (call_id, outcome)
    assert len(centre.outcomes) == len(centre.calls) > 20
