"""A call taker's answer reaches the centre only with the media the centre requires.

Rules:
- When the desk phones must use SRTP (the centre file's desk_phones.media_encryption:
  sdes), a call taker's leg that answered is checked first (CHANNEL(rtp,secure) through
  ARI): a phone that answered the SRTP offer with plain RTP gets no audio from Asterisk,
  so caller and call taker would hear nothing. Such a leg is hung up and never bridged;
  the centre sees it end as an offer that failed (the caller is offered to the next call
  taker at once; the phone counts a miss, so a misconfigured phone is soon paused), and
  an error names the phone.
- Asterisk answers "1" (SRTP), "0" (plain RTP), or cannot read it (HTTP 500) when the
  answer left the leg no audio stream at all (a phone that answered RTP/AVP to the RTP/SAVP
  offer): only "1" is let through. A check that cannot be made otherwise (ARI unreachable,
  another error) lets the answer through: the caller is not kept from a call taker by a
  fault of the check. A leg already gone (404) is the centre's news by its own events.
- Without that requirement nothing is checked: no request, no delay; every other event
  goes to the centre as it came.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from ivr.adapters.ari.port import Ari, AriError, AriUnavailable
from ivr.config.schema import CentreConfig
from ivr.core import events as ev
from ivr.core.centre_events import CentreEvent

log = logging.getLogger(__name__)

SECURE = "CHANNEL(rtp,secure)"  # "1" when the channel's audio is SRTP, "0" when plain
NO_MEDIA = 500  # ARI cannot read it: the channel has no audio stream (the offer was declined)


class Pump(Protocol):
    """The engine, as this needs it: the centre's current configuration and its door."""

    config: CentreConfig

    def deliver(self, event: CentreEvent, persist: bool = True) -> None: ...


class SecureAnswers:
    def __init__(self, ari: Ari, pump: Pump, spawn: Callable[[Coroutine[Any, Any, None]], None]) -> None:
        self._ari = ari
        self._pump = pump
        self._spawn = spawn

    def _required(self) -> bool:
        return self._pump.config.desk_phones.srtp  # read at each answer: a reload may change it

    def _deliver(self, event: CentreEvent) -> None:
        self._pump.deliver(event)

    def deliver(self, event: CentreEvent) -> None:
        """To the centre, a call taker's answer once its media is checked (when required)."""
        if isinstance(event, ev.TakerAnswered) and self._required():
            self._spawn(self._checked(event))
        else:
            self._deliver(event)

    async def _checked(self, answer: ev.TakerAnswered) -> None:
        try:
            secure = (await self._ari.channel_var(answer.channel_id, SECURE)).strip() == "1"
        except AriError as exc:
            if exc.status == 404:  # the leg is gone already: its end reaches the centre
                return
            if exc.status != NO_MEDIA:
                log.warning("call %s: SRTP of leg %s not checked: %s", answer.call_id, answer.channel_id, exc)
                self._deliver(answer)
                return
            secure = False  # no audio stream at all: the phone declined the SRTP offer's media
        except AriUnavailable as exc:
            log.warning("call %s: SRTP of leg %s not checked: %s", answer.call_id, answer.channel_id, exc)
            self._deliver(answer)
            return
        if secure:
            self._deliver(answer)
            return
        log.error(
            "call %s: the phone of leg %s answered without SRTP (the centre requires it): "
            "hung up, the caller goes to the next call taker; check that phone's SRTP setting",
            answer.call_id,
            answer.channel_id,
        )
        try:
            await self._ari.hangup(answer.channel_id, "codec_mismatch")
        except (AriError, AriUnavailable) as exc:  # gone already: its end is the centre's news
            log.warning("call %s: leg %s not hung up: %s", answer.call_id, answer.channel_id, exc)
