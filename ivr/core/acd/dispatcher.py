"""The ACD's decisions: handle(state, event, now) -> (state, commands).

Rules:
- The waiting list is kept sorted by AcdState.order_key (priority with aging, then
  arrival); a caller being offered keeps its place and is skipped while it rings.
- After every event, free takers take callers: the best-placed caller in line first,
  offered to the free taker who has been idle longest; a free taker left over takes the
  earliest caller still in the greeting (offered at once, the greeting playing until the
  taker answers), who joins the line with that offer. Skills only break the choice between free
  takers (an taker with the caller's skills is preferred); they never keep a caller
  waiting while any taker is free. An taker who already missed this caller is chosen
  only when no other taker is free.
- Ring no answer: the caller is offered again at once (to the next taker); an taker
  who missed missed_offers_to_pause offers in a row is paused with reason "missed calls".
  An offer refused at once (busy, unreachable) or whose request failed (Asterisk
  overloaded) does not count as missed: the taker rests refused_rest_seconds before the
  next offer, so a broken phone cannot spin.
- After a call the taker is in wrap-up (per-taker seconds, else the policy's); wrap-up
  of 0 makes them free at once. Longest idle counts from the end of wrap-up.
- A caller whose level has a maximum wait is overflowed when it passes it (unless it is
  ringing at an taker right then). A caller is never refused.
- Unknown takers or callers in an event change nothing.
"""

from __future__ import annotations

from bisect import insort
from dataclasses import replace

from ivr.core.acd import commands as acd_cmd
from ivr.core.acd import events as acd
from ivr.core.acd.model import MISSED_CALLS, AcdState, Activity, Declared, Taker, Waiting

Result = tuple[AcdState, list[acd_cmd.AcdCommand]]


def handle(state: AcdState, event: acd.AcdEvent, now: float) -> Result:
    state, commands = _apply(state, event, now)
    state, overflowed = _overflow(state, now)
    state, offers = _dispatch(state, now)
    return state, [*commands, *overflowed, *offers]


def next_deadline(state: AcdState, now: float) -> float | None:
    """When a Tick is next due: a caller would overflow, or a resting taker is free again."""
    deadlines = [
        caller.arrived_at + level.max_wait_seconds
        for caller in state.waiting
        if (level := state.policy.levels[caller.level]).max_wait_seconds is not None
        and level.overflow_target is not None
        and caller.may_overflow
    ]
    if state.waiting or state.greeting:
        deadlines += [a.rest_until for a in state.takers.values() if a.rest_until > now]
    return min(deadlines, default=None)


# ---- state changes --------------------------------------------------------------


def _with_taker(state: AcdState, taker: Taker) -> AcdState:
    return replace(state, takers={**state.takers, taker.taker_id: taker})


def _insert(state: AcdState, caller: Waiting) -> AcdState:
    waiting = list(state.waiting)
    insort(waiting, caller, key=state.order_key)
    return replace(state, waiting=tuple(waiting))


def _out_of_greeting(state: AcdState, call_id: str) -> tuple[AcdState, Waiting | None]:
    found = next((w for w in state.greeting if w.call_id == call_id), None)
    if found is None:
        return state, None
    return replace(state, greeting=tuple(w for w in state.greeting if w.call_id != call_id)), found


def _by_arrival(*callers: Waiting) -> tuple[Waiting, ...]:
    return tuple(sorted(callers, key=lambda w: (w.arrived_at, w.call_id)))


def _known_level(state: AcdState, level: str) -> str:
    return level if level in state.policy.levels else state.policy.default_level


def _without(state: AcdState, call_id: str) -> tuple[AcdState, Waiting | None]:
    found = next((w for w in state.waiting if w.call_id == call_id), None)
    if found is None:
        return state, None
    return replace(state, waiting=tuple(w for w in state.waiting if w.call_id != call_id)), found


def _status(taker: Taker, declared: Declared, reason: str, by_system: bool) -> acd_cmd.TakerStatusChanged:
    return acd_cmd.TakerStatusChanged(taker.taker_id, declared, reason, by_system)


def _apply(state: AcdState, event: acd.AcdEvent, now: float) -> Result:
    match event:
        case acd.CallerArrived(call_id, level, arrived_at):
            if any(w.call_id == call_id for w in (*state.waiting, *state.greeting)):
                return state, []
            newcomer = Waiting(call_id, _known_level(state, level), min(arrived_at, now))
            return replace(state, greeting=_by_arrival(*state.greeting, newcomer)), []
        case acd.CallerQueued(call_id, level, skills, arrived_at, overflow):
            state, greeted = _out_of_greeting(state, call_id)
            known = _known_level(state, level)
            if greeted is not None:  # its greeting is over: in line at the level screening gave it
                return _insert(state, replace(greeted, level=known, skills=skills, may_overflow=overflow)), []
            state, already = _without(state, call_id)
            if already is not None:  # offered during its greeting: its level may have changed since
                return _insert(state, replace(already, level=known)), []
            since = now if arrived_at is None else min(arrived_at, now)
            return _insert(state, Waiting(call_id, known, since, skills, may_overflow=overflow)), []
        case acd.CallerReprioritized(call_id, level) if level in state.policy.levels:
            state, greeted = _out_of_greeting(state, call_id)
            if greeted is not None:
                return replace(
                    state, greeting=_by_arrival(*state.greeting, replace(greeted, level=level))
                ), []
            state, caller = _without(state, call_id)
            return (_insert(state, replace(caller, level=level)), []) if caller else (state, [])
        case acd.CallerLeft(call_id):
            state, _ = _out_of_greeting(state, call_id)
            state, caller = _without(state, call_id)
            if caller is not None and caller.offered_to in state.takers:
                taker = state.takers[caller.offered_to]
                state = _with_taker(state, replace(taker, activity=Activity.IDLE, call_id=None))
            return state, []
        case acd.OfferAnswered(taker_id, call_id) if taker_id in state.takers:
            state, _ = _without(state, call_id)
            taker = state.takers[taker_id]
            on_call = replace(
                taker, activity=Activity.ON_CALL, activity_since=now, call_id=call_id, missed_in_a_row=0
            )
            return _with_taker(state, on_call), []
        case acd.OfferMissed(taker_id, call_id, rang) if taker_id in state.takers:
            return _missed(state, state.takers[taker_id], call_id, rang, now)
        case acd.TakerOnCall(taker_id, call_id) if taker_id in state.takers:
            state, _ = _without(state, call_id)
            taker = replace(
                state.takers[taker_id], activity=Activity.ON_CALL, activity_since=now, call_id=call_id
            )
            return _with_taker(state, taker), []
        case acd.CallEnded(taker_id) if taker_id in state.takers:
            taker = state.takers[taker_id]
            seconds = (
                taker.wrapup_seconds if taker.wrapup_seconds is not None else state.policy.wrapup_seconds
            )
            if seconds <= 0:
                return _with_taker(state, _idle(taker, now)), []
            wrap = replace(taker, activity=Activity.WRAP_UP, activity_since=now, call_id=None)
            return _with_taker(state, wrap), [acd_cmd.StartWrapUp(taker_id, seconds)]
        case acd.WrapUpEnded(taker_id) if taker_id in state.takers:
            taker = state.takers[taker_id]
            if taker.activity is not Activity.WRAP_UP:
                return state, []
            return _with_taker(state, _idle(taker, now)), []
        case acd.TakerLoggedIn(taker_id) if taker_id in state.takers:
            taker = state.takers[taker_id]
            if taker.declared is Declared.AVAILABLE:
                return state, []
            fresh = taker.declared is Declared.LOGGED_OUT and taker.activity is Activity.IDLE
            taker = replace(
                taker,
                declared=Declared.AVAILABLE,
                pause_reason="",
                missed_in_a_row=0,
                idle_since=now if fresh else taker.idle_since,
            )
            return _with_taker(state, taker), [_status(taker, Declared.AVAILABLE, "", False)]
        case acd.TakerLoggedOut(taker_id) if taker_id in state.takers:
            taker = replace(state.takers[taker_id], declared=Declared.LOGGED_OUT, pause_reason="")
            return _with_taker(state, taker), [_status(taker, Declared.LOGGED_OUT, "", False)]
        case acd.TakerPaused(taker_id, reason) if taker_id in state.takers:
            taker = replace(state.takers[taker_id], declared=Declared.PAUSED, pause_reason=reason)
            return _with_taker(state, taker), [_status(taker, Declared.PAUSED, reason, False)]
        case acd.TakerUnpaused(taker_id) if taker_id in state.takers:
            taker = state.takers[taker_id]
            if taker.declared is not Declared.PAUSED:
                return state, []
            taker = replace(taker, declared=Declared.AVAILABLE, pause_reason="", missed_in_a_row=0)
            return _with_taker(state, taker), [_status(taker, Declared.AVAILABLE, "", False)]
        case acd.TakerReachability(taker_id, reachable) if taker_id in state.takers:
            return _with_taker(state, replace(state.takers[taker_id], reachable=reachable)), []
    return state, []


def _idle(taker: Taker, now: float) -> Taker:
    return replace(taker, activity=Activity.IDLE, activity_since=now, idle_since=now, call_id=None)


def _missed(state: AcdState, taker: Taker, call_id: str, rang: bool, now: float) -> Result:
    commands: list[acd_cmd.AcdCommand] = []
    if taker.activity is not Activity.OFFERED or taker.call_id != call_id:  # a late, stale report
        return state, []
    # The taker did not take a call: back to idle, their place in the idle order kept.
    missed = taker.missed_in_a_row + 1 if rang else taker.missed_in_a_row
    rest = now if rang else now + state.policy.refused_rest_seconds
    taker = replace(
        taker,
        activity=Activity.IDLE,
        activity_since=now,
        call_id=None,
        missed_in_a_row=missed,
        rest_until=rest,
    )
    if missed >= state.policy.missed_offers_to_pause and taker.declared is Declared.AVAILABLE:
        taker = replace(taker, declared=Declared.PAUSED, pause_reason=MISSED_CALLS)
        commands.append(_status(taker, Declared.PAUSED, MISSED_CALLS, True))
    state = _with_taker(state, taker)
    state, caller = _without(state, call_id)
    if caller is not None:
        state = _insert(
            state, replace(caller, offered_to=None, missed_by=caller.missed_by | {taker.taker_id})
        )
    return state, commands


# ---- decisions ------------------------------------------------------------------


def _overflow(state: AcdState, now: float) -> Result:
    commands: list[acd_cmd.AcdCommand] = []
    keep: list[Waiting] = []
    for caller in state.waiting:
        level = state.policy.levels[caller.level]
        due = (
            level.max_wait_seconds is not None
            and level.overflow_target is not None
            and caller.offered_to is None
            and caller.may_overflow
            and now - caller.arrived_at >= level.max_wait_seconds
        )
        if due and level.overflow_target is not None:
            commands.append(acd_cmd.Overflow(caller.call_id, level.overflow_target))
        else:
            keep.append(caller)
    if not commands:
        return state, []
    return replace(state, waiting=tuple(keep)), commands


def _choose(free: list[Taker], caller: Waiting) -> Taker:
    def preference(taker: Taker) -> tuple[bool, bool, float, str]:
        return (
            taker.taker_id in caller.missed_by,  # someone who has not missed this caller first
            not caller.skills <= taker.skills,  # then someone with the caller's skills
            taker.idle_since,  # then the longest idle
            taker.taker_id,
        )

    return min(free, key=preference)


def _dispatch(state: AcdState, now: float) -> Result:
    free = [taker for taker in state.takers.values() if taker.free(now)]
    if not free:
        return state, []
    offers: list[acd_cmd.AcdCommand] = []
    waiting = list(state.waiting)
    takers = dict(state.takers)
    for index, caller in enumerate(waiting):
        if not free:
            break
        if caller.offered_to is not None:
            continue
        taker = _choose(free, caller)
        free.remove(taker)
        takers[taker.taker_id] = replace(
            taker, activity=Activity.OFFERED, activity_since=now, call_id=caller.call_id
        )
        waiting[index] = replace(caller, offered_to=taker.taker_id)
        offers.append(acd_cmd.Offer(caller.call_id, taker.taker_id, taker.endpoint))
    greeting = list(state.greeting)
    while free and greeting:  # nobody in line is left for them: the earliest in a greeting
        caller = greeting.pop(0)
        taker = _choose(free, caller)
        free.remove(taker)
        takers[taker.taker_id] = replace(
            taker, activity=Activity.OFFERED, activity_since=now, call_id=caller.call_id
        )
        insort(waiting, replace(caller, offered_to=taker.taker_id), key=state.order_key)
        offers.append(acd_cmd.Offer(caller.call_id, taker.taker_id, taker.endpoint))
    return replace(state, takers=takers, waiting=tuple(waiting), greeting=tuple(greeting)), offers
