"""Turns a validated CentreConfig into the ACD's policy and roster (pure)."""

from __future__ import annotations

from ivr.config.schema import CentreConfig
from ivr.core.acd.model import AcdPolicy, Agent, PriorityLevel


def acd_policy(config: CentreConfig) -> AcdPolicy:
    levels = {
        p.name: PriorityLevel(
            p.name,
            p.base,
            p.max_wait_seconds,
            config.overflow_targets[p.overflow].endpoint if p.overflow else None,
        )
        for p in config.priorities
    }
    return AcdPolicy(
        levels=levels,
        default_level=config.default_priority,
        aging_per_second=config.aging_per_second,
        wrapup_seconds=config.timers.wrapup_seconds,
        missed_offers_to_pause=config.timers.missed_offers_to_pause,
    )


def acd_roster(config: CentreConfig) -> list[Agent]:
    return [
        Agent(a.id, a.endpoint, skills=frozenset(a.skills), wrapup_seconds=a.wrapup_seconds)
        for a in config.agents
    ]
