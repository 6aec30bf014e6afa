"""Asterisk's talk detection taken off a caller whose screening is over (the dialplan set it
on every emergency caller; it costs DSP for as long as the call lasts).

Rules:
- Through AMI, never through ARI: ARI runs a channel change in the channel's own thread,
  which Asterisk then bars from dangerous functions for the rest of the call, so the
  dialplan's DB() write of a handed-over caller's native line would fail. AMI sets it in
  its own thread.
- Without AMI (not configured, or down) the detector stays on: it costs CPU, never a call.
"""

from __future__ import annotations

import logging
from typing import Protocol

from ivr.adapters.ami import AmiUnavailable

log = logging.getLogger(__name__)


class ChannelVariables(Protocol):
    async def set_channel_var(self, channel_id: str, variable: str, value: str) -> None: ...


async def remove_talk_detection(variables: ChannelVariables | None, call_id: str) -> None:
    if variables is None:
        return
    try:
        await variables.set_channel_var(call_id, "TALK_DETECT(remove)", "")
    except AmiUnavailable as exc:  # a caller already gone is one of these
        log.debug("call %s: talk detection not removed: %s", call_id, exc)
