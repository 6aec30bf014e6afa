# The recorder (ivr.adapters.recorder): below the free-space minimum, or
# when the folder is unusable, an alarm is raised and the call goes unrecorded; the alarm
# clears when there is room again; only a snoop recording started here is stopped at the
# call's end (the dialplan's end with the channel, no request).
from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest

from ivr.adapters.ari.rest import AriRest
from ivr.adapters.ari.stasis_waiter import StasisWaiter
from ivr.adapters.recorder import Recorder, RecordingUnavailable, _arrival


def recorder(folder: Path, min_free_mb: int) -> Recorder:
    return Recorder(cast(AriRest, None), StasisWaiter(), folder, min_free_mb, 30)


def test_a_nearly_full_folder_raises_the_alarm_and_room_clears_it(tmp_path: Path) -> None:
    full = recorder(tmp_path, 10**9)  # a petabyte free needed: "full"
    with pytest.raises(RecordingUnavailable, match="nearly full"):
        full._check_space()
    assert full.alarm is not None and "nearly full" in full.alarm
    full._min_free = 0
    full._check_space()
    assert full.alarm is None


def test_an_unusable_folder_is_an_alarm_not_a_crash(tmp_path: Path) -> None:
    missing = recorder(tmp_path / "gone", 1)
    with pytest.raises(RecordingUnavailable, match="unusable"):
        missing._check_space()
    assert missing.alarm is not None


def test_retention_reads_the_arrival_from_the_call_id() -> None:
    assert _arrival("1795868603.9") == 1795868603.0
    assert _arrival("notes") is None


class SnoopingAri:
    """What the recorder asks of Asterisk, noted; the snoop enters the app at once."""

    def __init__(self, waiter: StasisWaiter) -> None:
        self.asked: list[tuple[str, str]] = []
        self._waiter = waiter

    async def snoop(self, channel_id: str, snoop_id: str, app_args: str, spy: str = "in") -> None:
        self.asked.append(("snoop", snoop_id))
        self._waiter.ready(snoop_id)

    async def record(self, channel_id: str, name: str) -> None:
        self.asked.append(("record", name))

    async def stop_recording(self, name: str) -> None:
        self.asked.append(("stop", name))

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        self.asked.append(("hangup", channel_id))


async def test_only_a_recording_started_here_is_stopped_at_the_calls_end(tmp_path: Path) -> None:
    waiter = StasisWaiter()
    ari = SnoopingAri(waiter)
    rec = Recorder(cast(AriRest, ari), waiter, tmp_path, 0, 30)
    await rec.stop("1795868603.1")  # the dialplan records it: it ends with the channel
    assert ari.asked == []
    await rec.start("1795868603.2", "1795868603.2")
    await rec.stop("1795868603.2")
    await rec.stop("1795868603.2")  # once is enough
    assert [a for a, _ in ari.asked] == ["snoop", "record", "stop", "hangup"]
