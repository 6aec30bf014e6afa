"""Records every call, from answer to end, one WAV file per call.

How: an emergency call is recorded by the dialplan (MixMonitor from its answer, on every
path, the native queue's too) as <call id>.wav in Asterisk's recordings folder
(IVR_RECORDINGS_PATH: the same folder as the control plane sees it). What the dialplan
did not record (a callback, or a call that arrived while recording was switched off) is
recorded here: a snoop on the channel that hears both directions (what the caller says,
and everything they hear: prompts, the call taker, the agencies), recorded by Asterisk
under the same name. Both end with the caller's channel.

Rules:
- A recording is stopped (ARI "stop", which keeps the file), never cancelled or deleted
  while live. Only the snoop recordings this process started are stopped at the call's
  end: the dialplan's end with the channel on their own, and asking Asterisk to stop
  them would cost two requests per call for nothing (a snoop recording started before a
  restart ends with its channel too).
- The folder's free space is checked every minute and before each snoop recording; below
  the minimum, an alarm is raised (log line, /api/health), the dialplan's switch
  (the global IVR_RECORD) is turned off until there is room again, and calls go on
  unrecorded with the reason on their timeline. Any other failure to record also costs the
  recording, never the call.
- Retention: recordings older than IVR_RECORDING_RETENTION_DAYS are deleted through ARI
  by the cleanup job (the call id begins with the epoch second the call arrived).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from ivr.adapters.ari.port import Ari, AriError, AriUnavailable
from ivr.adapters.ari.stasis_waiter import StasisWaiter
from ivr.core import ids

log = logging.getLogger(__name__)

READY_TIMEOUT = 2.0
RECORD_ARG = "record"
SWITCH = "IVR_RECORD"  # the dialplan's global: "yes" records every emergency call


class RecordingUnavailable(Exception):
    """The call could not be recorded; the message says why."""


class Recorder:
    def __init__(
        self,
        ari: Ari,
        waiter: StasisWaiter,
        folder: Path | None,
        min_free_mb: int,
        retention_days: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._ari = ari
        self._waiter = waiter
        self.folder = folder
        self._min_free = min_free_mb * 1024 * 1024
        self._retention = retention_days * 86400
        self._clock = clock
        self.alarm: str | None = None  # set while the recordings folder is (nearly) full
        self._switch: str | None = None  # the dialplan's switch as last set here (None: not yet)
        self._snooped: set[str] = set()  # calls recorded by a snoop started here, until stopped

    def free_bytes(self) -> int | None:
        if self.folder is None:
            return None
        stats = os.statvfs(self.folder)
        return stats.f_bavail * stats.f_frsize

    def _check_space(self) -> None:
        try:
            free = self.free_bytes()
        except OSError as exc:
            self.alarm = f"recordings folder {self.folder} unusable: {exc}"
            log.error("ALARM %s; calls go on unrecorded", self.alarm)
            raise RecordingUnavailable(self.alarm) from exc
        if free is None or free >= self._min_free:
            if self.alarm is not None:
                log.warning("recordings folder %s has room again", self.folder)
            self.alarm = None
            return
        alarm = f"recordings folder {self.folder} nearly full: {free // (1024 * 1024)} MB free"
        if self.alarm is None:
            log.error("ALARM %s; calls go on unrecorded until there is room", alarm)
        self.alarm = alarm
        raise RecordingUnavailable(alarm)

    async def watch_space(self) -> None:
        """Check the free space and set the dialplan's recording switch to match."""
        try:
            self._check_space()
            wanted = "yes"
        except RecordingUnavailable:
            wanted = "no"
        if wanted != self._switch:
            await self._ari.set_global(SWITCH, wanted)
            log.info("dialplan recording switched %s", "on" if wanted == "yes" else "off")
            self._switch = wanted

    async def start(self, call_id: str, channel_id: str) -> None:
        self._check_space()
        snoop = ids.recorder_id(call_id)
        ready = self._waiter.expect(snoop)
        self._snooped.add(call_id)  # before the request: a call that ends meanwhile stops it
        try:
            await self._ari.snoop(channel_id, snoop, f"{RECORD_ARG},{call_id}", spy="both")
            async with asyncio.timeout(READY_TIMEOUT):
                await ready
            await self._ari.record(snoop, call_id)
        except (AriError, AriUnavailable, TimeoutError) as exc:
            self._snooped.discard(call_id)
            with contextlib.suppress(AriError, AriUnavailable):
                await self._ari.hangup(snoop)
            raise RecordingUnavailable(str(exc) or "the recorder channel did not enter the app") from exc
        finally:
            self._waiter.forget(snoop)

    async def stop(self, call_id: str) -> None:
        """Stop and keep the snoop recording started here, if any (a no-op once the
        caller's channel is gone)."""
        if call_id not in self._snooped:
            return
        self._snooped.discard(call_id)
        with contextlib.suppress(AriError, AriUnavailable):
            await self._ari.stop_recording(call_id)
        with contextlib.suppress(AriError, AriUnavailable):
            await self._ari.hangup(ids.recorder_id(call_id))

    async def clean_up(self) -> int:
        """Delete recordings past retention; returns how many."""
        cutoff = self._clock() - self._retention
        deleted = 0
        for name in await self._ari.stored_recordings():
            arrived = _arrival(name)
            if arrived is not None and arrived < cutoff:
                try:
                    await self._ari.delete_recording(name)
                    deleted += 1
                except AriError as exc:
                    log.warning("recording %s not deleted: %s", name, exc)
        if deleted:
            log.info("deleted %d recordings older than %d days", deleted, self._retention // 86400)
        return deleted


def _arrival(name: str) -> float | None:
    """'1795868603.9' -> 1795868603.0 (a call id starts with the epoch second it arrived)."""
    head = name.split(".", 1)[0]
    return float(head) if head.isdigit() else None
