# The recordings folder's free-space check (ivr.adapters.recorder): below the minimum, or
# when the folder is unusable, an alarm is raised and the call goes unrecorded; the alarm
# clears when there is room again.
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
