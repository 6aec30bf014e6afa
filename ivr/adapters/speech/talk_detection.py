"""Screening by sound energy and keys only: for callers beyond what speech detection can
take on this machine, so that no caller in a surge goes unscreened.

How: Asterisk's TALK_DETECT on the caller's channel (its own DSP, on the audio it already
has: no channel, no bridge, no audio leaves Asterisk) reports talking started and finished;
this keeps, per call, the seconds of sound above the threshold. Keys reach the core as for
every caller.

Rules:
- Energy cannot tell a voice from noise: sound counts as a possible voice, never as speech
  (the core decides on it: ivr/core/screening.py), so a caller heard making sound is never
  moved down; only a line without sound above the threshold goes the silent caller's way.
- Talking still going on when asked counts up to now.
- TALK_DETECT is removed when listening stops (best effort: it goes with the channel);
  a failure to set it fails the screening open (the caller stays at its level).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from ivr.adapters.ari.rest import AriError, AriRest, AriUnavailable

# Milliseconds of quiet that end a talk, and the energy above which a 20 ms frame is sound
# (Asterisk's own default is 256: lower, so that a quiet voice counts; noise then counts
# too, which only ever keeps a caller where it is).
QUIET_MS = 500
ENERGY_THRESHOLD = 128


@dataclass
class Talk:
    seconds: float = 0.0  # finished talks
    since: float | None = None  # a talk going on since (monotonic)


class TalkDetection:
    def __init__(self, ari: AriRest, clock: Callable[[], float] = time.monotonic) -> None:
        self._ari = ari
        self._clock = clock
        self._talks: dict[str, Talk] = {}

    def __contains__(self, call_id: str) -> bool:
        return call_id in self._talks

    def __len__(self) -> int:
        return len(self._talks)

    async def start(self, call_id: str, channel_id: str) -> None:
        """Raises AriError/AriUnavailable when Asterisk refuses (the screening fails open)."""
        self._talks[call_id] = Talk()
        try:
            await self._ari.set_channel_var(channel_id, "TALK_DETECT(set)", f"{QUIET_MS},{ENERGY_THRESHOLD}")
        except (AriError, AriUnavailable):
            self._talks.pop(call_id, None)
            raise

    def talking(self, call_id: str, seconds: float | None) -> None:
        """Asterisk's report: talking started (None) or finished after `seconds`."""
        talk = self._talks.get(call_id)
        if talk is None:
            return
        if seconds is None:
            talk.since = self._clock()
        else:
            talk.seconds += seconds
            talk.since = None

    def heard(self, call_id: str) -> float:
        talk = self._talks.get(call_id)
        if talk is None:
            return 0.0
        going_on = self._clock() - talk.since if talk.since is not None else 0.0
        return talk.seconds + going_on

    async def stop(self, call_id: str, channel_id: str) -> None:
        if self._talks.pop(call_id, None) is None:
            return
        with contextlib.suppress(AriError, AriUnavailable):  # the caller may be gone: it went with it
            await self._ari.set_channel_var(channel_id, "TALK_DETECT(remove)", "")
