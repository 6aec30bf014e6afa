"""Screening by sound energy and keys only: the cue every caller has, used when speech
detection does not listen (at capacity, or its channels could not be set up), so that no
caller in a surge goes unscreened.

How: the dialplan sets Asterisk's TALK_DETECT on every emergency caller before the call
enters the control plane (its own DSP on the audio it already has: no channel, no bridge,
no ARI request, nothing leaves Asterisk; removed before a native queue); Asterisk reports
talking started and finished, and this keeps, per call being screened, the seconds of
sound above the threshold (the dialplan's: 500 ms of quiet ends a talk, energy 128).

Rules:
- Energy cannot tell a voice from noise: sound counts as a possible voice, never as speech
  (the core decides on it: ivr/core/screening.py), so a caller heard making sound is never
  moved down; only a line without sound above the threshold goes the silent caller's way.
- Counted from the call's first report (the engine passes reports of live calls only):
  Asterisk reports talking from the answer, before the control plane has even started
  screening, and a caller who talks without a pause sends no second report until they
  stop; so a caller whose speech detection fails to start falls back to all that was
  heard. Talking still going on when asked counts up to now. After stop() (screening
  over) the call's reports are ignored until forget() (the call ended); the screener then
  asks Asterisk to remove the detection (it costs DSP for as long as the call lasts).
- Nothing here talks to Asterisk: it cannot fail under load.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Talk:
    seconds: float = 0.0  # finished talks
    since: float | None = None  # a talk going on since (monotonic)


class TalkDetection:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._talks: dict[str, Talk] = {}
        self._over: set[str] = set()  # screened: reports ignored until the call ends

    def __contains__(self, call_id: str) -> bool:
        return call_id in self._talks

    def __len__(self) -> int:
        return len(self._talks)

    def start(self, call_id: str) -> None:
        self._talks.setdefault(call_id, Talk())

    def talking(self, call_id: str, seconds: float | None) -> None:
        """Asterisk's report on a live call: talking started (None) or finished after `seconds`."""
        if call_id in self._over:
            return
        talk = self._talks.setdefault(call_id, Talk())
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

    def stop(self, call_id: str) -> bool:
        """Screening is over for this call; whether it was being counted until now."""
        if self._talks.pop(call_id, None) is None:
            return False
        self._over.add(call_id)
        return True

    def forget(self, call_id: str) -> None:
        """The call ended: nothing of it is kept."""
        self._talks.pop(call_id, None)
        self._over.discard(call_id)
