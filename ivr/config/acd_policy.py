"""Turns a validated CentreConfig into the core's policies: the ACD's policy and roster, the
caller rules, the screening, agency and service-level policies (pure)."""

from __future__ import annotations

from ivr.config.schema import CentreConfig
from ivr.core.acd.model import AcdPolicy, PriorityLevel, Taker
from ivr.core.call_state import AgencyPolicy
from ivr.core.routing import CallerRule
from ivr.core.screening import ScreeningPolicy, Verdict
from ivr.core.service_level import ServiceLevelPolicy, Tier


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


def acd_roster(config: CentreConfig) -> list[Taker]:
    return [
        Taker(a.id, a.endpoint, skills=frozenset(a.skills), wrapup_seconds=a.wrapup_seconds)
        for a in config.takers
    ]


def caller_rules(config: CentreConfig) -> tuple[CallerRule, ...]:
    return tuple(CallerRule(rule.number, rule.priority) for rule in config.caller_priorities)


def screening_policy(config: CentreConfig) -> ScreeningPolicy | None:
    """None when the centre does not screen calls."""
    screening = config.screening
    if not screening.enabled:
        return None
    levels = screening.levels
    return ScreeningPolicy(
        min_speech_seconds=screening.min_speech_seconds,
        min_cue_speech_seconds=screening.min_cue_speech_seconds,
        min_sound_seconds=screening.min_sound_seconds,
        prank_reports_to_suspect=screening.prank_reports_to_suspect,
        budget_seconds=screening.budget_seconds,
        listen_after_answer_seconds=screening.listen_after_answer_seconds,
        silent_response_seconds=screening.silent_response_seconds,
        levels={
            Verdict.EMERGENCY: levels.emergency,
            Verdict.SILENT_EMERGENCY: levels.emergency,
            Verdict.NORMAL: levels.normal,
            Verdict.SILENT_PENDING: levels.silent,
            Verdict.SILENT: levels.silent,
            Verdict.PRANK: levels.prank,
            Verdict.BLOCKED: levels.prank,
        },
    )


def agency_policies(config: CentreConfig) -> tuple[AgencyPolicy, ...]:
    return tuple(
        AgencyPolicy(a.id, a.name, tuple(a.endpoints), a.ring_seconds, a.code) for a in config.agencies
    )


def service_level_policy(config: CentreConfig) -> ServiceLevelPolicy:
    level = config.service_level
    return ServiceLevelPolicy(
        tiers=tuple(Tier(t.answer_within_seconds, t.target) for t in level.tiers),
        window_seconds=level.window_minutes * 60,
        alarm_after_seconds=level.alarm_after_minutes * 60,
    )
