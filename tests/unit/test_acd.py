# The priority ACD (ivr.core.acd): priority order with aging, longest-idle fairness,
# skills as a preference only, ring-no-answer re-offer and auto-pause, wrap-up,
# overflow, re-prioritisation, and status kept apart from activity. Pure: no I/O.
from __future__ import annotations

import random

import pytest

from ivr.core.acd import commands as acd_cmd
from ivr.core.acd import events as acd
from ivr.core.acd.dispatcher import handle, next_deadline
from ivr.core.acd.model import MISSED_CALLS, AcdPolicy, AcdState, Activity, Declared, PriorityLevel, Taker

LEVELS = {
    "top": PriorityLevel("top", 300, max_wait_seconds=60, overflow_target="PJSIP/supervisor"),
    "normal": PriorityLevel("normal", 200),
    "low": PriorityLevel("low", 100),
}


NO_OVERFLOW = {name: PriorityLevel(name, level.base) for name, level in LEVELS.items()}


def policy(**changes: object) -> AcdPolicy:
    base = {
        "levels": LEVELS,
        "default_level": "normal",
        "aging_per_second": 1.0,
        "wrapup_seconds": 10.0,
        "missed_offers_to_pause": 2,
    }
    return AcdPolicy(**{**base, **changes})  # type: ignore[arg-type]


def acd_of(*takers: str, logged_in: bool = True, **policy_changes: object) -> AcdState:
    state = AcdState(policy(**policy_changes), {a: Taker(a, f"PJSIP/{a}") for a in takers})
    for index, taker in enumerate(takers):  # a01 has been idle longest
        if logged_in:
            state, _ = handle(state, acd.TakerLoggedIn(taker), float(index))
    return state


def run(state: AcdState, *steps: tuple[float, acd.AcdEvent]) -> tuple[AcdState, list[acd_cmd.AcdCommand]]:
    out: list[acd_cmd.AcdCommand] = []
    for now, event in steps:
        state, commands = handle(state, event, now)
        out += commands
    return state, out


def offers(commands: list[acd_cmd.AcdCommand]) -> list[tuple[str, str]]:
    return [(c.call_id, c.taker_id) for c in commands if isinstance(c, acd_cmd.Offer)]


@pytest.mark.parametrize(
    ("queued", "served_first"),
    [
        ([("c1", "normal", 100), ("c2", "top", 101)], "c2"),  # higher level first
        ([("c1", "normal", 100), ("c2", "normal", 101)], "c1"),  # same level: arrival
        ([("c1", "low", 100), ("c2", "normal", 150)], "c2"),  # low waited 50 s, gap is 100
        ([("c1", "low", 100), ("c2", "normal", 250)], "c1"),  # low waited 150 s: aging wins
        ([("c1", "low", 100), ("c2", "top", 305)], "c1"),  # 205 s of aging beats a 200 gap
    ],
)
def test_priority_then_arrival_with_aging(queued: list[tuple[str, str, float]], served_first: str) -> None:
    state = acd_of("a01", levels=NO_OVERFLOW)
    state, _ = run(state, (50, acd.TakerPaused("a01", "break")))
    state, _ = run(state, *[(at, acd.CallerQueued(call, level)) for call, level, at in queued])
    _, out = run(state, (400, acd.TakerUnpaused("a01")))
    assert offers(out) == [(served_first, "a01")]


def test_aging_prevents_starvation_under_a_stream_of_higher_callers() -> None:
    state = acd_of("a01", wrapup_seconds=0)
    state, out = run(state, (10, acd.CallerQueued("low-caller", "low")))
    served: list[str] = [c for c, _ in offers(out)]
    # a normal caller every 20 s, each call lasting 30 s: more demand than one taker serves
    for step in range(1, 40):
        now = 10 + step * 20
        state, out = run(state, (now, acd.CallerQueued(f"n{step}", "normal")))
        served += [c for c, _ in offers(out)]
        if state.takers["a01"].activity is Activity.OFFERED:
            call = state.takers["a01"].call_id
            assert call is not None
            state, out = run(state, (now, acd.OfferAnswered("a01", call)), (now + 30, acd.CallEnded("a01")))
            served += [c for c, _ in offers(out)]
    assert "low-caller" in served
    assert served.index("low-caller") < 10  # bounded wait: the 100-point gap closes in 100 s


def test_longest_idle_taker_gets_the_caller() -> None:
    state = acd_of("a01", "a02", "a03", wrapup_seconds=0)
    state, out = run(state, (10, acd.CallerQueued("c1", "normal")))
    assert offers(out) == [("c1", "a01")]
    state, _ = run(state, (11, acd.OfferAnswered("a01", "c1")), (20, acd.CallEnded("a01")))
    state, out = run(state, (21, acd.CallerQueued("c2", "normal")), (22, acd.CallerQueued("c3", "normal")))
    assert offers(out) == [("c2", "a02"), ("c3", "a03")]  # a01 just finished: last in line
    state, out = run(state, (23, acd.CallerQueued("c4", "normal")))
    assert offers(out) == [("c4", "a01")]


def test_skills_prefer_a_matching_taker_but_never_keep_a_caller_waiting() -> None:
    state = AcdState(
        policy(),
        {"a01": Taker("a01", "PJSIP/a01"), "a02": Taker("a02", "PJSIP/a02", skills=frozenset({"tolaki"}))},
    )
    state, _ = run(state, (0, acd.TakerLoggedIn("a01")), (1, acd.TakerLoggedIn("a02")))
    state, out = run(state, (5, acd.CallerQueued("c1", "normal", frozenset({"tolaki"}))))
    assert offers(out) == [("c1", "a02")]  # a01 idle longer, a02 speaks the language
    state, out = run(state, (6, acd.CallerQueued("c2", "normal", frozenset({"muna"}))))
    assert offers(out) == [("c2", "a01")]  # nobody speaks it: the free taker takes the call


def test_ring_no_answer_reoffers_at_once_and_pauses_after_repeated_misses() -> None:
    state = acd_of("a01", "a02", missed_offers_to_pause=2)
    state, out = run(state, (10, acd.CallerQueued("c1", "normal")))
    assert offers(out) == [("c1", "a01")]
    state, out = run(state, (25, acd.OfferMissed("a01", "c1")))
    assert offers(out) == [("c1", "a02")]  # next taker, not the one who missed it
    assert state.takers["a01"].declared is Declared.AVAILABLE  # one miss is not enough
    state, out = run(state, (40, acd.OfferMissed("a02", "c1")))
    assert offers(out) == [("c1", "a01")]  # only a01 free: a missed taker is better than none
    state, out = run(state, (55, acd.OfferMissed("a01", "c1")))
    assert state.takers["a01"].declared is Declared.PAUSED
    assert state.takers["a01"].pause_reason == MISSED_CALLS
    assert acd_cmd.TakerStatusChanged("a01", Declared.PAUSED, MISSED_CALLS, True) in out
    assert offers(out) == [("c1", "a02")]
    assert [w.call_id for w in state.waiting] == ["c1"]  # never dropped


def test_a_missed_caller_keeps_its_place_in_line() -> None:
    state = acd_of("a01")
    state, _ = run(state, (10, acd.CallerQueued("c1", "normal")), (11, acd.CallerQueued("c2", "normal")))
    state, out = run(state, (25, acd.OfferMissed("a01", "c1")))
    assert offers(out) == [("c1", "a01")]


def test_paused_logged_out_unreachable_and_busy_takers_are_never_offered() -> None:
    state = acd_of("a01", "a02", "a03", "a04")
    state, _ = run(
        state,
        (5, acd.TakerPaused("a01", "break")),
        (5, acd.TakerLoggedOut("a02")),
        (5, acd.TakerReachability("a03", False)),
        (6, acd.CallerQueued("c1", "normal")),
    )
    state, out = run(state, (7, acd.CallerQueued("c2", "normal")))
    assert offers(out) == []
    assert state.takers["a04"].activity is Activity.OFFERED
    state, out = run(state, (8, acd.TakerReachability("a03", True)))
    assert offers(out) == [("c2", "a03")]


def test_pause_during_a_call_leaves_the_call_and_activity_alone() -> None:
    state = acd_of("a01", wrapup_seconds=5)
    state, _ = run(
        state,
        (1, acd.CallerQueued("c1", "normal")),
        (2, acd.OfferAnswered("a01", "c1")),
        (3, acd.TakerPaused("a01", "supervisor")),
    )
    taker = state.takers["a01"]
    assert (taker.declared, taker.activity, taker.call_id) == (Declared.PAUSED, Activity.ON_CALL, "c1")
    state, out = run(
        state, (9, acd.CallEnded("a01")), (10, acd.CallerQueued("c2", "normal")), (14, acd.WrapUpEnded("a01"))
    )
    assert offers(out) == []  # paused: no call after wrap-up either


@pytest.mark.parametrize(("taker_wrapup", "expected"), [(None, 10.0), (3.0, 3.0)])
def test_wrapup_per_queue_overridable_per_taker(taker_wrapup: float | None, expected: float) -> None:
    state = AcdState(policy(), {"a01": Taker("a01", "PJSIP/a01", wrapup_seconds=taker_wrapup)})
    state, _ = run(
        state,
        (0, acd.TakerLoggedIn("a01")),
        (1, acd.CallerQueued("c1", "normal")),
        (2, acd.OfferAnswered("a01", "c1")),
        (3, acd.CallerQueued("c2", "normal")),
    )
    state, out = run(state, (60, acd.CallEnded("a01")))
    assert acd_cmd.StartWrapUp("a01", expected) in out and offers(out) == []
    state, out = run(state, (60 + expected, acd.WrapUpEnded("a01")))
    assert offers(out) == [("c2", "a01")]


def test_overflow_after_the_levels_maximum_wait_and_nothing_else_is_dropped() -> None:
    state = acd_of("a01")
    state, _ = run(
        state,
        (1, acd.CallerQueued("busy", "normal")),
        (2, acd.OfferAnswered("a01", "busy")),
        (10, acd.CallerQueued("t1", "top")),
        (20, acd.CallerQueued("n1", "normal")),
    )
    assert next_deadline(state, 20) == 70
    state, out = run(state, (69.9, acd.Tick()))
    assert [c for c in out if isinstance(c, acd_cmd.Overflow)] == []
    state, out = run(state, (70, acd.Tick()))
    assert [c for c in out if isinstance(c, acd_cmd.Overflow)] == [acd_cmd.Overflow("t1", "PJSIP/supervisor")]
    assert [w.call_id for w in state.waiting] == ["n1"]  # normal has no maximum: still waiting
    assert next_deadline(state, 70) is None


def test_reprioritisation_moves_a_waiting_caller_without_losing_its_arrival() -> None:
    state = acd_of("a01")
    state, _ = run(
        state,
        (1, acd.TakerPaused("a01", "break")),
        (10, acd.CallerQueued("c1", "normal")),
        (11, acd.CallerQueued("c2", "normal")),
        (12, acd.CallerReprioritized("c2", "top")),
    )
    assert [w.call_id for w in state.waiting] == ["c2", "c1"]
    state, _ = run(state, (13, acd.CallerReprioritized("c2", "low")))
    assert [w.call_id for w in state.waiting] == ["c1", "c2"]
    assert state.waiting[1].arrived_at == 11


def test_caller_leaving_while_ringing_frees_the_taker_and_keeps_their_idle_rank() -> None:
    state = acd_of("a01", "a02")
    state, _ = run(state, (10, acd.CallerQueued("c1", "normal")), (12, acd.CallerLeft("c1")))
    assert state.waiting == () and state.takers["a01"].activity is Activity.IDLE
    _, out = run(state, (13, acd.CallerQueued("c2", "normal")))
    assert offers(out) == [("c2", "a01")]


def test_random_traffic_never_double_books_an_taker_or_loses_a_caller() -> None:
    rng = random.Random(112)
    takers = [f"a{n:02d}" for n in range(1, 6)]
    state = acd_of(*takers, wrapup_seconds=2)
    now = 10.0
    queued: set[str] = set()
    gone: set[str] = set()  # answered, left or overflowed: no longer the ACD's to place
    for step in range(3000):
        now += rng.random()
        roll = rng.random()
        busy = [a for a in state.takers.values() if a.call_id]
        event: acd.AcdEvent = acd.Tick()
        if roll < 0.1:
            event = acd.CallerArrived(f"c{step}", "normal", now)  # in its greeting
            queued.add(event.call_id)
        elif roll < 0.2 and state.greeting:  # a greeting ends: in line at its screened level
            event = acd.CallerQueued(rng.choice(state.greeting).call_id, rng.choice(list(LEVELS)))
        elif roll < 0.3:
            event = acd.CallerQueued(f"c{step}", rng.choice(list(LEVELS)))
            queued.add(event.call_id)
        elif roll < 0.6 and busy:
            taker = rng.choice(busy)
            assert taker.call_id is not None
            if taker.activity is Activity.OFFERED and roll < 0.5:
                event = acd.OfferAnswered(taker.taker_id, taker.call_id)
                gone.add(taker.call_id)
            elif taker.activity is Activity.OFFERED:
                event = acd.OfferMissed(taker.taker_id, taker.call_id)
            else:
                event = acd.CallEnded(taker.taker_id)
        elif roll < 0.7 and state.waiting:
            event = acd.CallerLeft(rng.choice(state.waiting).call_id)
            gone.add(event.call_id)
        elif roll < 0.8:
            event = acd.WrapUpEnded(rng.choice(takers))
        elif roll < 0.9:
            event = acd.TakerUnpaused(rng.choice(takers))
        state, out = handle(state, event, now)
        gone |= {c.call_id for c in out if isinstance(c, acd_cmd.Overflow)}
        on_takers = [a.call_id for a in state.takers.values() if a.call_id]
        assert len(on_takers) == len(set(on_takers)), "a caller with two takers"
        waiting_ids = [w.call_id for w in state.waiting]
        greeting_ids = [w.call_id for w in state.greeting]
        assert len(waiting_ids) == len(set(waiting_ids))
        assert not set(greeting_ids) & set(waiting_ids), "a caller both in line and in its greeting"
        assert {w.call_id for w in state.waiting if w.offered_to} <= set(on_takers)
        if state.greeting:  # a caller in a greeting waits only when no taker is free
            assert not [a for a in state.takers.values() if a.free(now)], "a free taker left idle"
        placed = set(waiting_ids) | set(greeting_ids) | {c for c in on_takers if c in queued}
        assert queued == gone | placed, "a caller was lost"
    keys = [state.order_key(w) for w in state.waiting]
    assert keys == sorted(keys)
    assert len(gone) > 100  # the run really moved callers


def test_order_key_sorts_like_the_live_score_at_any_time() -> None:
    state = acd_of()
    rng = random.Random(7)
    callers = [acd.CallerQueued(f"c{i}", rng.choice(list(LEVELS))) for i in range(200)]
    for i, c in enumerate(callers):
        state, _ = handle(state, c, float(i))
    for now in (200.0, 500.0, 5000.0):
        by_score = sorted(state.waiting, key=lambda w: (-state.score(w, now), w.arrived_at, w.call_id))
        assert list(state.waiting) == by_score


def test_ten_thousand_waiting_callers_are_placed_and_served_in_order() -> None:
    state = acd_of(*[f"a{n:02d}" for n in range(1, 21)])
    for i in range(10_000):
        state, _ = handle(state, acd.CallerQueued(f"c{i}", "normal"), 100.0 + i * 0.001)
    assert len(state.waiting) == 10_000
    assert sum(1 for w in state.waiting if w.offered_to) == 20
    state, out = handle(state, acd.OfferMissed("a01", "c0"), 200.0)
    assert offers(out) == [("c0", "a01")]  # first in line, and a01 is the only taker free


def test_an_offer_refused_at_once_rests_the_taker_without_counting_a_miss() -> None:
    state = acd_of("a01", missed_offers_to_pause=1, refused_rest_seconds=5)
    state, _ = run(state, (10, acd.CallerQueued("c1", "normal")))
    state, out = run(state, (10.1, acd.OfferMissed("a01", "c1", rang=False)))
    assert offers(out) == []  # no spinning on a broken phone
    assert state.takers["a01"].declared is Declared.AVAILABLE  # not the person's fault
    assert next_deadline(state, 10.1) == pytest.approx(15.1)
    state, out = run(state, (15.1, acd.Tick()))
    assert offers(out) == [("c1", "a01")]


def test_a_late_report_about_an_earlier_offer_changes_nothing() -> None:
    state = acd_of("a01", "a02")
    state, _ = run(state, (10, acd.CallerQueued("c1", "normal")), (11, acd.OfferAnswered("a01", "c1")))
    before = state
    state, out = run(state, (12, acd.OfferMissed("a01", "c1")))
    assert state == before and out == []


def test_requeue_keeps_the_original_arrival() -> None:
    state = acd_of("a01", levels=NO_OVERFLOW)
    state, _ = run(
        state,
        (1, acd.TakerPaused("a01", "x")),
        (50, acd.CallerQueued("c1", "normal")),
        (60, acd.CallerQueued("c0", "normal", arrived_at=20)),
    )
    assert [w.call_id for w in state.waiting] == ["c0", "c1"]
    assert state.waiting[0].arrived_at == 20


def test_an_adopted_call_makes_its_taker_busy() -> None:
    state = acd_of("a01", "a02")
    state, _ = run(state, (5, acd.TakerOnCall("a01", "old")))
    state, out = run(state, (6, acd.CallerQueued("c1", "normal")))
    assert offers(out) == [("c1", "a02")]
    assert state.takers["a01"].activity is Activity.ON_CALL


# ---- callers in their greeting (offered at once when a taker is free) ---------------------


def test_a_free_taker_is_offered_a_new_caller_at_once_during_the_greeting() -> None:
    state = acd_of("a01", "a02")
    state, out = run(state, (100, acd.CallerArrived("c1", "normal", 99.5)))
    assert offers(out) == [("c1", "a01")]  # the longest idle, without waiting for the greeting
    assert [w.call_id for w in state.waiting] == ["c1"] and not state.greeting
    state, out = run(state, (108, acd.CallerQueued("c1", "low")))  # its greeting ends while it rings
    assert not offers(out) and state.waiting[0].offered_to == "a01" and state.waiting[0].level == "low"


def test_with_every_taker_busy_callers_join_the_line_at_their_greetings_end_by_priority() -> None:
    state = acd_of("a01")
    state, _ = run(state, (10, acd.CallerQueued("c0", "normal")))  # a01 takes c0
    state, out = run(
        state,
        (100, acd.CallerArrived("c1", "normal", 100)),
        (101, acd.CallerArrived("c2", "normal", 101)),
        (108, acd.CallerQueued("c1", "low")),  # screened: moved down
        (109, acd.CallerQueued("c2", "normal")),
    )
    assert not offers(out) and not state.greeting
    _, out = run(state, (110, acd.OfferAnswered("a01", "c0")), (115, acd.CallEnded("a01")),
                 (125, acd.WrapUpEnded("a01")))  # fmt: skip
    assert offers(out) == [("c2", "a01")]  # the later, normal caller before the one moved down


def test_callers_in_line_come_first_then_the_earliest_caller_in_a_greeting() -> None:
    state = acd_of("a01", "a02")
    state, _ = run(state, (1, acd.TakerPaused("a01", "break")), (1, acd.TakerPaused("a02", "break")))
    state, _ = run(
        state,
        (100, acd.CallerArrived("g2", "normal", 100.5)),
        (100, acd.CallerArrived("g1", "normal", 100.0)),
        (105, acd.CallerQueued("w1", "low", arrived_at=90)),
    )
    state, out = run(state, (106, acd.TakerUnpaused("a01")))
    assert offers(out) == [("w1", "a01")]
    state, out = run(state, (107, acd.TakerUnpaused("a02")))
    assert offers(out) == [("g1", "a02")]  # no one in line is left: the earliest in a greeting
    assert [w.call_id for w in state.greeting] == ["g2"]


def test_a_caller_offered_in_its_greeting_and_missed_keeps_its_place_and_is_offered_again() -> None:
    state = acd_of("a01", "a02")
    state, out = run(state, (100, acd.CallerArrived("c1", "normal", 100)))
    assert offers(out) == [("c1", "a01")]
    state, out = run(state, (115, acd.OfferMissed("a01", "c1")))
    assert offers(out) == [("c1", "a02")]
    state, out = run(state, (120, acd.CallerLeft("c1")))
    assert not state.waiting and not state.greeting and state.takers["a02"].activity is Activity.IDLE


def test_a_caller_leaving_in_its_greeting_is_forgotten_and_never_overflows() -> None:
    state = acd_of("a01")
    state, _ = run(state, (10, acd.CallerQueued("c0", "normal")))
    state, out = run(state, (100, acd.CallerArrived("c1", "top", 100)), (200, acd.Tick()))
    assert not [c for c in out if isinstance(c, acd_cmd.Overflow)]  # not waiting yet: no overflow
    state, _ = run(state, (201, acd.CallerLeft("c1")))
    assert not state.greeting
