"""Feature codes dialled from a call taker's own phone.

  *11 log in      *12 log out      *21 pause (reason "istirahat")      *22 unpause

Rules: the phone is identified by its PJSIP endpoint, never by what it claims; the
change goes through the ACD like any other; the phone is answered, hears a short
Indonesian confirmation, and is hung up. An unknown code or a phone that belongs to
no call taker hears "kode tidak dikenal" and nothing changes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from ivr.adapters.ari.rest import AriError, AriRest, AriUnavailable
from ivr.adapters.ari.translate import FEATURE_PROMPT, FeatureCode
from ivr.core.acd import events as acd

log = logging.getLogger(__name__)

PHONE_PAUSE_REASON = "istirahat"

CODES: dict[str, tuple[Callable[[str], acd.AcdEvent], str]] = {
    "*11": (acd.AgentLoggedIn, "agent-logged-in"),
    "*12": (acd.AgentLoggedOut, "agent-logged-out"),
    "*21": (lambda agent: acd.AgentPaused(agent, PHONE_PAUSE_REASON), "agent-paused"),
    "*22": (acd.AgentUnpaused, "agent-unpaused"),
}


class AcdLink(Protocol):
    def agent_of_endpoint(self, endpoint: str) -> str | None: ...
    def to_acd(self, event: acd.AcdEvent, persist: bool = True) -> None: ...


class FeatureCodes:
    def __init__(self, ari: AriRest, engine: AcdLink) -> None:
        self._ari = ari
        self._engine = engine

    def dialled(self, code: FeatureCode) -> str:
        """Decides at once (the ACD event); the prompt that confirms it, for confirm()."""
        agent = self._engine.agent_of_endpoint(code.endpoint)
        known = CODES.get(code.code)
        if agent is None or known is None:
            log.warning(
                "feature code %s from %s refused (unknown code or not a call taker)", code.code, code.endpoint
            )
            prompt = "feature-unknown"
        else:
            make_event, prompt = known
            log.info("call taker %s dialled %s", agent, code.code)
            self._engine.to_acd(make_event(agent))
        return prompt

    async def confirm(self, code: FeatureCode, prompt: str) -> None:
        """Answers the feature-code call and plays the confirmation; hangs up on failure."""
        try:
            await self._ari.answer(code.channel_id)
            await self._ari.play(
                code.channel_id, f"{FEATURE_PROMPT}{code.channel_id}", f"sound:ivr112/{prompt}"
            )
        except (AriError, AriUnavailable) as exc:
            log.warning("feature-code confirmation to %s failed: %s", code.endpoint, exc)
            await self.done(code.channel_id)

    async def done(self, channel_id: str) -> None:
        try:
            await self._ari.hangup(channel_id)
        except (AriError, AriUnavailable) as exc:
            log.info("feature-code channel %s already gone: %s", channel_id, exc)
