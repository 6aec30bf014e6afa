"""Building and re-building the ACD from the centre's configuration.

Rules (hot reload): a new configuration never drops a waiting caller or a call in
progress. Agents keep their declared status and activity across a reload; new agents
start logged out; an agent removed from the file is dropped at once if idle; one still
on a call stays, logged out so no new call reaches them, until the next reload.
Waiting callers keep their arrival; a caller whose level no longer exists moves to the
default level; the list is re-sorted under the new policy.
"""

from __future__ import annotations

from dataclasses import replace

from ivr.core.acd.model import AcdPolicy, AcdState, Activity, Agent, Declared


def build(policy: AcdPolicy, roster: list[Agent]) -> AcdState:
    return AcdState(policy, {agent.agent_id: agent for agent in roster})


def reconfigure(state: AcdState, policy: AcdPolicy, roster: list[Agent]) -> AcdState:
    agents: dict[str, Agent] = {}
    for fresh in roster:
        old = state.agents.get(fresh.agent_id)
        agents[fresh.agent_id] = (
            fresh
            if old is None
            else replace(
                old, endpoint=fresh.endpoint, skills=fresh.skills, wrapup_seconds=fresh.wrapup_seconds
            )
        )
    for agent_id, old in state.agents.items():
        if agent_id not in agents and old.activity is not Activity.IDLE:
            agents[agent_id] = replace(old, declared=Declared.LOGGED_OUT)
    waiting = [
        w if w.level in policy.levels else replace(w, level=policy.default_level) for w in state.waiting
    ]
    fresh_state = AcdState(policy, agents)
    return replace(fresh_state, waiting=tuple(sorted(waiting, key=fresh_state.order_key)))
