# Who answers which caller, seen end to end: the call flow (ivr.core.call) wired to the
# ACD (ivr.core.acd.dispatcher) the way the engine wires them, synchronously and purely.
# (This replaces the round-robin dispatcher tests: ivr/core/roundrobin.py was removed
# in favour of the ACD.) Callers are served in arrival order and keep their place after
# a ring-no-answer; the longest-idle call taker goes first; busy and unreachable takers
# are skipped and used again; a caller who hangs up leaves the line and frees a ringing
# taker; a freed taker takes the next caller at once; random traffic never gives a taker
# two calls and never leaves a caller unserved.
from __future__ import annotations

import random
from collections import deque

import pytest

from ivr.core import commands as cmd
from ivr.core import events as ev
from ivr.core.acd import commands as acd_cmd
from ivr.core.acd import events as acd
from ivr.core.acd.dispatcher import handle as acd_handle
from ivr.core.acd.model import AcdPolicy, AcdState, Agent, PriorityLevel
from ivr.core.call import Call, CallPolicy, Phase, handle, start
from ivr.core.outcomes import Outcome

POLICY = CallPolicy()
SUPERVISOR = "PJSIP/supervisor"


class Centre:
    """Calls and the ACD, wired like ivr.engine.Engine but without I/O or a clock."""

    def __init__(self, *agents: str, max_wait: float | None = None) -> None:
        level = PriorityLevel("normal", 200, max_wait, SUPERVISOR if max_wait else None)
        policy = AcdPolicy({"normal": level}, "normal", wrapup_seconds=0, missed_offers_to_pause=99)
        self.acd = AcdState(policy, {a: Agent(a, f"PJSIP/{a}") for a in agents})
        self.now = 1000.0
        self.calls: dict[str, Call] = {}
        self.legs: dict[str, tuple[str, str]] = {}  # live taker leg -> (call, endpoint)
        self.offers: list[tuple[str, str]] = []  # (call, endpoint), in order
        self.outcomes: dict[str, Outcome] = {}
        self._pending: deque[tuple[str, ev.CallEvent]] = deque()
        for agent in agents:  # logged in in this order: the first has been idle longest
            self.now += 1
            self.tell_acd(acd.AgentLoggedIn(agent))

    def tell_acd(self, fact: acd.AcdEvent) -> None:
        """A fact from outside the calls (a phone's reachability, time passing)."""
        self.to_acd(fact)
        self._drain()

    def to_acd(self, fact: acd.AcdEvent) -> None:
        self.acd, out = acd_handle(self.acd, fact, self.now)
        for command in out:
            match command:
                case acd_cmd.Offer(call_id, agent_id, endpoint):
                    self._pending.append((call_id, ev.TakerAssigned(call_id, agent_id, endpoint)))
                case acd_cmd.Overflow(call_id, target):
                    self._pending.append((call_id, ev.Overflowed(call_id, target)))

    def post(self, call_id: str, event: ev.CallEvent) -> None:
        self._pending.append((call_id, event))
        self._drain()

    def _drain(self) -> None:
        while self._pending:
            call_id, event = self._pending.popleft()
            call = self.calls[call_id]
            if call.phase is Phase.ENDED:  # the engine has forgotten it: the ACD is told
                if isinstance(event, ev.TakerAssigned | ev.Overflowed):
                    self.to_acd(acd.CallerLeft(call_id))
                continue
            self.calls[call_id], commands = handle(call, event, self.now)
            self._execute(call_id, commands)

    def _execute(self, call_id: str, commands: list[cmd.Command]) -> None:
        for command in commands:
            match command:
                case cmd.Answer():
                    self._pending.append((call_id, ev.CallerAnswered(call_id)))
                case cmd.ToAcd(fact):
                    self.to_acd(fact)
                case cmd.OfferToTaker(channel_id=leg, endpoint=endpoint):
                    busy = [c for c, e in self.legs.values() if e == endpoint]
                    assert not busy, f"{endpoint} offered {call_id} while on {busy}"
                    agent = next((a for a in self.acd.agents.values() if a.endpoint == endpoint), None)
                    assert agent is None or agent.reachable, f"{endpoint} is unreachable"
                    self.legs[leg] = (call_id, endpoint)
                    self.offers.append((call_id, endpoint.removeprefix("PJSIP/")))
                case cmd.ConnectParties():
                    self._pending.append((call_id, ev.PartiesConnected(call_id)))
                case cmd.Hangup(channel_id):
                    self.legs.pop(channel_id, None)
                case cmd.FinishCall(outcome=outcome):
                    assert call_id not in self.outcomes
                    self.outcomes[call_id] = outcome

    # ---- what people do ------------------------------------------------------------
    def arrive(self, call_id: str) -> None:
        self.now += 1
        self.calls[call_id], commands = start(ev.CallArrived(call_id, "0812", "112"), self.now, POLICY)
        self._execute(call_id, commands)
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
    centre = Centre("a")
    for call_id in ("c1", "c2", "c3", "c4"):
        centre.arrive(call_id)
    assert centre.ringing() == {"a": "c1"}
    for _ in range(4):
        centre.serve("a")
    assert centre.offers == [("c1", "a"), ("c2", "a"), ("c3", "a"), ("c4", "a")]
    assert set(centre.outcomes.values()) == {Outcome.ANSWERED}


def test_the_longest_idle_taker_goes_first_so_takers_take_turns() -> None:
    centre = Centre("a", "b", "c")
    for n in range(5):
        centre.arrive(f"c{n}")
        centre.serve(centre.offers[-1][1])
    assert [taker for _, taker in centre.offers] == ["a", "b", "c", "a", "b"]


def test_a_busy_taker_is_skipped() -> None:
    centre = Centre("a", "b")
    centre.arrive("c1")
    centre.answers("a")
    centre.arrive("c2")
    assert centre.ringing() == {"b": "c2"}


def test_an_unreachable_taker_is_skipped_and_used_again_when_reachable() -> None:
    centre = Centre("a", "b", "c")
    centre.tell_acd(acd.AgentReachability("a", False))
    centre.arrive("c1")
    assert centre.ringing() == {"b": "c1"}
    centre.tell_acd(acd.AgentReachability("a", True))
    centre.arrive("c2")
    assert centre.ringing() == {"b": "c1", "a": "c2"}


def test_with_every_taker_unreachable_the_caller_waits_and_is_not_refused() -> None:
    centre = Centre("a")
    centre.tell_acd(acd.AgentReachability("a", False))
    centre.arrive("c1")
    centre.now += 600
    centre.tell_acd(acd.Tick())
    assert (centre.offers, centre.outcomes, centre.calls["c1"].phase) == ([], {}, Phase.WAITING)
    centre.tell_acd(acd.AgentReachability("a", True))
    assert centre.ringing() == {"a": "c1"}


def test_ring_no_answer_offers_the_next_taker_at_once() -> None:
    centre = Centre("a", "b")
    centre.arrive("c1")
    centre.leg_ends("a", after=15)
    assert centre.ringing() == {"b": "c1"}
    assert centre.calls["c1"].phase is Phase.OFFERED


def test_a_caller_whose_taker_did_not_answer_keeps_its_place_in_line() -> None:
    centre = Centre("a", "b")
    centre.arrive("c1")  # rings at a
    centre.arrive("c2")  # rings at b
    centre.answers("b")
    centre.arrive("c3")  # waits behind c1
    centre.leg_ends("a", after=15)  # a did not answer c1; a is the only free taker
    assert centre.ringing() == {"a": "c1"}  # c1 first again, not c3


def test_a_caller_who_hangs_up_while_waiting_leaves_the_line() -> None:
    centre = Centre("a")
    for call_id in ("c1", "c2", "c3"):
        centre.arrive(call_id)
    centre.post("c2", ev.CallerHungUp("c2"))
    assert centre.outcomes == {"c2": Outcome.ABANDONED_IN_QUEUE}
    centre.serve("a")
    assert centre.ringing() == {"a": "c3"}


def test_a_caller_who_hangs_up_while_ringing_frees_the_taker_at_once() -> None:
    centre = Centre("a")
    centre.arrive("c1")
    centre.post("c1", ev.CallerHungUp("c1"))
    assert centre.legs == {}  # the ringing phone stops
    centre.arrive("c2")
    assert centre.ringing() == {"a": "c2"}


def test_a_taker_freed_by_a_call_ending_takes_the_waiting_caller_at_once() -> None:
    centre = Centre("a")
    centre.arrive("c1")
    centre.answers("a")
    centre.arrive("c2")
    assert centre.ringing() == {}
    centre.post("c1", ev.CallerHungUp("c1"))  # the caller ends the call: a is free (no wrap-up)
    assert centre.ringing() == {"a": "c2"}


def test_a_caller_waiting_too_long_overflows_to_the_supervisor() -> None:
    centre = Centre("a", max_wait=60)
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
    centre = Centre(*takers)
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
            centre.tell_acd(acd.AgentReachability(rng.choice(takers), rng.random() < 0.6))
        centre.now += rng.random() * 10
        centre.tell_acd(acd.Tick())  # resting takers come back (the engine's timer)
    for taker in takers:  # the end of the shift: everyone reachable, every caller served
        centre.tell_acd(acd.AgentReachability(taker, True))
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
