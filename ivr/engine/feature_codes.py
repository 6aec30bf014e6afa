"""The confirmation a call taker's phone hears after dialling a feature code.

Rules: the centre has decided already (ivr.core.feature_codes); here the phone is
answered, hears the short Indonesian confirmation (or "kode tidak dikenal"), and is hung
up when it ends; any failure hangs the phone up. Off the event path: nothing waits on it.
"""

from __future__ import annotations

import logging

from ivr.adapters.ari.port import Ari, AriError, AriUnavailable
from ivr.adapters.ari.translate import FEATURE_PROMPT
from ivr.core.centre_events import ConfirmFeature
from ivr.core.feature_codes import UNKNOWN_PROMPT

log = logging.getLogger(__name__)


class FeatureCodes:
    def __init__(self, ari: Ari) -> None:
        self._ari = ari

    async def confirm(self, order: ConfirmFeature) -> None:
        """Answers the feature-code call and plays the confirmation; hangs up on failure."""
        if order.prompt == UNKNOWN_PROMPT:
            log.warning("feature code from %s refused (unknown code or not a call taker)", order.endpoint)
        try:
            await self._ari.answer(order.channel_id)
            await self._ari.play(
                order.channel_id, f"{FEATURE_PROMPT}{order.channel_id}", f"sound:ivr112/{order.prompt}"
            )
        except (AriError, AriUnavailable) as exc:
            log.warning("feature-code confirmation to %s failed: %s", order.endpoint, exc)
            await self.done(order.channel_id)

    async def done(self, channel_id: str) -> None:
        try:
            await self._ari.hangup(channel_id)
        except (AriError, AriUnavailable) as exc:
            log.info("feature-code channel %s already gone: %s", channel_id, exc)
