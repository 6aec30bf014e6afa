"""Building and re-building the ACD from the centre's configuration.

Rules (hot reload): a new configuration never drops a waiting caller or a call in
progress. Takers keep their declared status and activity across a reload; new takers
start logged out; an taker removed from the file is dropped at once if idle; one still
on a call stays, logged out so no new call reaches them, until the next reload.
Waiting callers (and callers in their greeting) keep their arrival; a caller whose level
no longer exists moves to the default level; the list is re-sorted under the new policy.
"""

from __future__ import annotations

from dataclasses import replace

from ivr.core.acd.model import AcdPolicy, AcdState, Activity, Declared, Taker


def build(policy: AcdPolicy, roster: list[Taker]) -> AcdState:
    return AcdState(policy, {taker.taker_id: taker for taker in roster})


def reconfigure(state: AcdState, policy: AcdPolicy, roster: list[Taker]) -> AcdState:
    takers: dict[str, Taker] = {}
    for fresh in roster:
        old = state.takers.get(fresh.taker_id)
        takers[fresh.taker_id] = (
            fresh
            if old is None
            else replace(
                old, endpoint=fresh.endpoint, skills=fresh.skills, wrapup_seconds=fresh.wrapup_seconds
            )
        )
    for taker_id, old in state.takers.items():
        if taker_id not in takers and old.activity is not Activity.IDLE:
            takers[taker_id] = replace(old, declared=Declared.LOGGED_OUT)
    waiting = [
        w if w.level in policy.levels else replace(w, level=policy.default_level) for w in state.waiting
    ]
    greeting = tuple(
        w if w.level in policy.levels else replace(w, level=policy.default_level) for w in state.greeting
    )
    fresh_state = AcdState(policy, takers)
    return replace(fresh_state, waiting=tuple(sorted(waiting, key=fresh_state.order_key)), greeting=greeting)
