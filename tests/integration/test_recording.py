"""Recording on the real stack: every call is recorded from answer to end into one WAV
file, served by the API once the call ends; it lasts as long as the call and holds the
parties' speech; a (nearly) full recordings folder raises an alarm and the call goes on
unrecorded."""

from __future__ import annotations

import io
import os
import time
import wave
from collections.abc import Callable
from pathlib import Path

import pytest

from ivr.adapters.speech.vad import SpeechDetector
from tests.integration.stack import RECORDINGS, Process, Stack, place_call, wait_for

pytestmark = pytest.mark.integration


def at(record: dict, entry: str) -> float:
    return next(e["at"] for e in record["timeline"] if e["entry"] == entry)


def test_a_call_is_recorded_whole_and_served_once_it_ends(
    stack: Stack, control_plane: Callable[..., Process], phones: Callable[..., Process], media: Path
) -> None:
    control_plane(["taker05"])
    phones("taker05", "phone_answers.xml")
    before = stack.call_ids()
    call = place_call(media, "112", hold_ms=16000, caller="081288800001", wait=False)
    call_id = stack.new_call_id(before)
    stack.wait_entry(call_id, "connected", timeout=30)
    status, body = stack.api("GET", f"/api/calls/{call_id}/recording")
    assert status == 409 and "still going on" in body["error"]
    assert call.popen.wait(timeout=60) == 0, call.output()
    record = stack.wait_ended(call_id)

    status, audio, headers = stack.recording(call_id, "?download=1")
    assert status == 200 and headers["Content-Type"] == "audio/wav"
    assert f'filename="112-{call_id}.wav"' in headers["Content-Disposition"]
    with wave.open(io.BytesIO(audio)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)
        pcm = wav.readframes(wav.getnframes())
        seconds = wav.getnframes() / 8000
    call_seconds = float(record["ended_at"]) - at(record, "answered")
    assert abs(seconds - call_seconds) < 1.5, (seconds, call_seconds)  # from answer to end
    detector = SpeechDetector()
    detector.feed(pcm)
    heard = detector.finish()
    # greeting + caller + call taker: far more speech than silence would give
    assert heard.speech_seconds > 5.0, heard


def test_a_full_recordings_folder_raises_an_alarm_and_the_call_goes_on(
    stack: Stack, control_plane: Callable[..., Process], phones: Callable[..., Process], media: Path
) -> None:
    control_plane(["taker06"], IVR_RECORDING_MIN_FREE_MB="10000000")  # 10 TB free needed: "full"
    phones("taker06", "phone_answers.xml")
    before = stack.call_ids()
    call = place_call(media, "112", hold_ms=12000, caller="081288800002", wait=False)
    call_id = stack.new_call_id(before)
    record = stack.wait_entry(call_id, "recording-failed", timeout=10)
    failed = next(e for e in record["timeline"] if e["entry"] == "recording-failed")
    assert "nearly full" in failed["reason"]
    health = stack.api("GET", "/api/health", token="")[1]
    assert any("nearly full" in alarm for alarm in health["alarms"]), health
    assert call.popen.wait(timeout=60) == 0, call.output()
    assert stack.wait_ended(call_id)["outcome"] == "answered"  # unrecorded, never dropped
    assert stack.api("GET", f"/api/calls/{call_id}/recording")[0] == 404


def test_recordings_past_retention_are_deleted_and_recent_ones_kept(
    stack: Stack, control_plane: Callable[..., Process]
) -> None:
    old, recent = RECORDINGS / "1600000000.1.wav", RECORDINGS / f"{int(time.time()) - 3600}.2.wav"
    for path in (old, recent):
        with wave.open(str(path), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(8000)
            wav.writeframes(bytes(1600))
    os.chown(old, RECORDINGS.stat().st_uid, RECORDINGS.stat().st_gid)  # Asterisk's own files
    os.chown(recent, RECORDINGS.stat().st_uid, RECORDINGS.stat().st_gid)
    control_plane([], IVR_RECORDING_RETENTION_DAYS="30")  # the cleanup runs at start, then hourly
    wait_for(lambda: not old.exists(), 10, "the recording from 2020 to be deleted")
    assert recent.exists()
    recent.unlink()
