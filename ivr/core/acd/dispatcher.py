"""The ACD's decisions: handle(state, event, now) -> (state, commands).

Rules:
- The waiting list is kept sorted by AcdState.order_key (priority with aging, then
  arrival); a caller being offered keeps its place and is skipped while it rings.
- After every event, free agents take callers: the best-placed caller first, offered to
  the free agent who has been idle longest. Skills only break the choice between free
  agents (an agent with the caller's skills is preferred); they never keep a caller
  waiting while any agent is free. An agent who already missed this caller is chosen
  only when no other agent is free.
- Ring no answer: the caller is offered again at once (to the next agent); an agent
  who missed missed_offers_to_pause offers in a row is paused with reason "missed calls".
  An offer refused at once (busy, unreachable) or whose request failed (Asterisk
  overloaded) does not count as missed: the agent rests refused_rest_seconds before the
  next offer, so a broken phone cannot spin.
- After a call the agent is in wrap-up (per-agent seconds, else the policy's); wrap-up
  of 0 makes them free at once. Longest idle counts from the end of wrap-up.
- A caller whose level has a maximum wait is overflowed when it passes it (unless it is
  ringing at an agent right then). A caller is never refused.
- Unknown agents or callers in an event change nothing.
"""

from __future__ import annotations

from bisect import insort
from dataclasses import replace

from ivr.core.acd import commands as cmd
from ivr.core.acd import events as ev
from ivr.core.acd.model import MISSED_CALLS, AcdState, Activity, Agent, Declared, Waiting

Result = tuple[AcdState, list[cmd.AcdCommand]]


def handle(state: AcdState, event: ev.AcdEvent, now: float) -> Result:
    state, commands = _apply(state, event, now)
    state, overflowed = _overflow(state, now)
    state, offers = _dispatch(state, now)
    return state, [*commands, *overflowed, *offers]


def next_deadline(state: AcdState, now: float) -> float | None:
    """When a Tick is next due: a caller would overflow, or a resting agent is free again."""
    deadlines = [
        caller.arrived_at + level.max_wait_seconds
        for caller in state.waiting
        if (level := state.policy.levels[caller.level]).max_wait_seconds is not None
        and level.overflow_target is not None
        and caller.may_overflow
    ]
    if state.waiting:
        deadlines += [a.rest_until for a in state.agents.values() if a.rest_until > now]
    return min(deadlines, default=None)


# ---- state changes --------------------------------------------------------------


def _with_agent(state: AcdState, agent: Agent) -> AcdState:
    return replace(state, agents={**state.agents, agent.agent_id: agent})


def _insert(state: AcdState, caller: Waiting) -> AcdState:
    waiting = list(state.waiting)
    insort(waiting, caller, key=state.order_key)
    return replace(state, waiting=tuple(waiting))


def _without(state: AcdState, call_id: str) -> tuple[AcdState, Waiting | None]:
    found = next((w for w in state.waiting if w.call_id == call_id), None)
    if found is None:
        return state, None
    return replace(state, waiting=tuple(w for w in state.waiting if w.call_id != call_id)), found


def _status(agent: Agent, declared: Declared, reason: str, by_system: bool) -> cmd.AgentStatusChanged:
    return cmd.AgentStatusChanged(agent.agent_id, declared, reason, by_system)


def _apply(state: AcdState, event: ev.AcdEvent, now: float) -> Result:
    match event:
        case ev.CallerQueued(call_id, level, skills, arrived_at, overflow):
            if any(w.call_id == call_id for w in state.waiting):
                return state, []
            known = level if level in state.policy.levels else state.policy.default_level
            since = now if arrived_at is None else min(arrived_at, now)
            return _insert(state, Waiting(call_id, known, since, skills, may_overflow=overflow)), []
        case ev.CallerReprioritized(call_id, level) if level in state.policy.levels:
            state, caller = _without(state, call_id)
            return (_insert(state, replace(caller, level=level)), []) if caller else (state, [])
        case ev.CallerLeft(call_id):
            state, caller = _without(state, call_id)
            if caller is not None and caller.offered_to in state.agents:
                agent = state.agents[caller.offered_to]
                state = _with_agent(state, replace(agent, activity=Activity.IDLE, call_id=None))
            return state, []
        case ev.OfferAnswered(agent_id, call_id) if agent_id in state.agents:
            state, _ = _without(state, call_id)
            agent = state.agents[agent_id]
            on_call = replace(
                agent, activity=Activity.ON_CALL, activity_since=now, call_id=call_id, missed_in_a_row=0
            )
            return _with_agent(state, on_call), []
        case ev.OfferMissed(agent_id, call_id, rang) if agent_id in state.agents:
            return _missed(state, state.agents[agent_id], call_id, rang, now)
        case ev.AgentOnCall(agent_id, call_id) if agent_id in state.agents:
            state, _ = _without(state, call_id)
            agent = replace(
                state.agents[agent_id], activity=Activity.ON_CALL, activity_since=now, call_id=call_id
            )
            return _with_agent(state, agent), []
        case ev.CallEnded(agent_id) if agent_id in state.agents:
            agent = state.agents[agent_id]
            seconds = (
                agent.wrapup_seconds if agent.wrapup_seconds is not None else state.policy.wrapup_seconds
            )
            if seconds <= 0:
                return _with_agent(state, _idle(agent, now)), []
            wrap = replace(agent, activity=Activity.WRAP_UP, activity_since=now, call_id=None)
            return _with_agent(state, wrap), [cmd.StartWrapUp(agent_id, seconds)]
        case ev.WrapUpEnded(agent_id) if agent_id in state.agents:
            agent = state.agents[agent_id]
            if agent.activity is not Activity.WRAP_UP:
                return state, []
            return _with_agent(state, _idle(agent, now)), []
        case ev.AgentLoggedIn(agent_id) if agent_id in state.agents:
            agent = state.agents[agent_id]
            if agent.declared is Declared.AVAILABLE:
                return state, []
            fresh = agent.declared is Declared.LOGGED_OUT and agent.activity is Activity.IDLE
            agent = replace(
                agent,
                declared=Declared.AVAILABLE,
                pause_reason="",
                missed_in_a_row=0,
                idle_since=now if fresh else agent.idle_since,
            )
            return _with_agent(state, agent), [_status(agent, Declared.AVAILABLE, "", False)]
        case ev.AgentLoggedOut(agent_id) if agent_id in state.agents:
            agent = replace(state.agents[agent_id], declared=Declared.LOGGED_OUT, pause_reason="")
            return _with_agent(state, agent), [_status(agent, Declared.LOGGED_OUT, "", False)]
        case ev.AgentPaused(agent_id, reason) if agent_id in state.agents:
            agent = replace(state.agents[agent_id], declared=Declared.PAUSED, pause_reason=reason)
            return _with_agent(state, agent), [_status(agent, Declared.PAUSED, reason, False)]
        case ev.AgentUnpaused(agent_id) if agent_id in state.agents:
            agent = state.agents[agent_id]
            if agent.declared is not Declared.PAUSED:
                return state, []
            agent = replace(agent, declared=Declared.AVAILABLE, pause_reason="", missed_in_a_row=0)
            return _with_agent(state, agent), [_status(agent, Declared.AVAILABLE, "", False)]
        case ev.AgentReachability(agent_id, reachable) if agent_id in state.agents:
            return _with_agent(state, replace(state.agents[agent_id], reachable=reachable)), []
    return state, []


def _idle(agent: Agent, now: float) -> Agent:
    return replace(agent, activity=Activity.IDLE, activity_since=now, idle_since=now, call_id=None)


def _missed(state: AcdState, agent: Agent, call_id: str, rang: bool, now: float) -> Result:
    commands: list[cmd.AcdCommand] = []
    if agent.activity is not Activity.OFFERED or agent.call_id != call_id:  # a late, stale report
        return state, []
    # The agent did not take a call: back to idle, their place in the idle order kept.
    missed = agent.missed_in_a_row + 1 if rang else agent.missed_in_a_row
    rest = now if rang else now + state.policy.refused_rest_seconds
    agent = replace(
        agent,
        activity=Activity.IDLE,
        activity_since=now,
        call_id=None,
        missed_in_a_row=missed,
        rest_until=rest,
    )
    if missed >= state.policy.missed_offers_to_pause and agent.declared is Declared.AVAILABLE:
        agent = replace(agent, declared=Declared.PAUSED, pause_reason=MISSED_CALLS)
        commands.append(_status(agent, Declared.PAUSED, MISSED_CALLS, True))
    state = _with_agent(state, agent)
    state, caller = _without(state, call_id)
    if caller is not None:
        state = _insert(
            state, replace(caller, offered_to=None, missed_by=caller.missed_by | {agent.agent_id})
        )
    return state, commands


# ---- decisions ------------------------------------------------------------------


def _overflow(state: AcdState, now: float) -> Result:
    commands: list[cmd.AcdCommand] = []
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
            commands.append(cmd.Overflow(caller.call_id, level.overflow_target))
        else:
            keep.append(caller)
    if not commands:
        return state, []
    return replace(state, waiting=tuple(keep)), commands


def _choose(free: list[Agent], caller: Waiting) -> Agent:
    def preference(agent: Agent) -> tuple[bool, bool, float, str]:
        return (
            agent.agent_id in caller.missed_by,  # someone who has not missed this caller first
            not caller.skills <= agent.skills,  # then someone with the caller's skills
            agent.idle_since,  # then the longest idle
            agent.agent_id,
        )

    return min(free, key=preference)


def _dispatch(state: AcdState, now: float) -> Result:
    free = [agent for agent in state.agents.values() if agent.free(now)]
    if not free:
        return state, []
    offers: list[cmd.AcdCommand] = []
    waiting = list(state.waiting)
    agents = dict(state.agents)
    for index, caller in enumerate(waiting):
        if not free:
            break
        if caller.offered_to is not None:
            continue
        agent = _choose(free, caller)
        free.remove(agent)
        agents[agent.agent_id] = replace(
            agent, activity=Activity.OFFERED, activity_since=now, call_id=caller.call_id
        )
        waiting[index] = replace(caller, offered_to=agent.agent_id)
        offers.append(cmd.Offer(caller.call_id, agent.agent_id, agent.endpoint))
    return replace(state, agents=agents, waiting=tuple(waiting)), offers
