"""Private data on the real stack (issue 14, item 8): after the start-up path of `make run`
(scripts/redis-start.sh then scripts/asterisk-start.sh, which the session fixture runs)
and a recorded call through the control plane, the state folder and every folder in it
are 0700 and every file in it 0600 (the call history with its -wal and -shm, the secrets,
Redis's append-only files, log and pid file); the recordings folder is Asterisk's only
(0700) and the call's recording 0600. Starting again narrows what an older install left
readable, recordings included."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.stack import (
    ASTERISK_ROOT,
    RECORDINGS,
    REPO,
    Process,
    Stack,
    place_call,
    wait_for,
)

pytestmark = pytest.mark.integration


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def walk(folder: Path) -> dict[str, int]:
    """The mode of the folder ('.') and of everything in it, by relative path."""
    found = {".": mode(folder)}
    for path in folder.rglob("*"):
        found[str(path.relative_to(folder))] = mode(path)
    return found


def not_private(modes: dict[str, int], folder: Path) -> dict[str, str]:
    """What is not the owner's only: folders other than 0700, files other than 0600."""
    wrong = {}
    for name, found in modes.items():
        wanted = 0o700 if (folder / name).is_dir() else 0o600
        if found != wanted:
            wrong[name] = f"{found:04o}, not {wanted:04o}"
    return wrong


def asterisk_uid() -> int:
    for line in (ASTERISK_ROOT / "etc/passwd").read_text().splitlines():
        name, _, uid, *_ = line.split(":")
        if name == "asterisk":
            return int(uid)
    raise AssertionError("the Asterisk root has no user asterisk")


def archived(archive: Path, call_id: str) -> bool:
    with sqlite3.connect(f"file:{archive}?mode=ro", uri=True) as database:
        return database.execute("SELECT 1 FROM calls WHERE call_id = ?", (call_id,)).fetchone() is not None


def test_the_state_folder_the_archive_and_the_recordings_are_private(
    stack: Stack, control_plane: Callable[..., Process], phones: Callable[..., Process], media: Path
) -> None:
    state = Path(stack.env["IVR_STATE_DIR"])
    archive = state / "calls.sqlite3"  # where `make run` keeps it (scripts/lib.sh)
    control_plane(["taker15"], IVR_ARCHIVE_PATH=str(archive))
    phones("taker15", "phone_answers.xml")
    before = stack.call_ids()
    call = place_call(media, "112", hold_ms=6000, caller="081288800015")
    assert call.popen.returncode == 0, call.output()
    call_id = stack.new_call_id(before)
    record = stack.wait_ended(call_id)
    assert any(e["entry"] == "recording" for e in record["timeline"]), record["timeline"]
    wait_for(lambda: archived(archive, call_id), 10, f"call {call_id} in the archive")

    modes = walk(state)  # while the control plane runs: the archive's -wal and -shm exist
    expected = {"calls.sqlite3", "calls.sqlite3-wal", "calls.sqlite3-shm", "secrets/redis_password",
                "secrets/sip_taker15", "redis-6390/redis.pid", "redis-6390/redis.log",
                "redis-6390/appendonlydir/appendonly.aof.manifest"}  # fmt: skip
    assert not_private(modes, state) == {}
    assert expected <= set(modes), sorted(modes)
    assert all(p.lstat().st_uid == os.geteuid() for p in [state, *state.rglob("*")])

    assert mode(RECORDINGS) == 0o700 and RECORDINGS.stat().st_uid == asterisk_uid()
    assert all(mode(p) == 0o700 for p in RECORDINGS.rglob("*") if p.is_dir())
    wav = RECORDINGS / f"{call_id}.wav"
    assert wav.stat().st_uid == asterisk_uid() and mode(wav) == 0o600, f"{mode(wav):04o}"


def test_starting_again_narrows_what_an_older_install_left_readable(stack: Stack) -> None:
    state = Path(stack.env["IVR_STATE_DIR"])
    redis_pid = (state / "redis-6390" / "redis.pid").read_text().strip()
    opened = [
        state,
        state / "secrets",
        state / "secrets" / "sip_taker01",
        state / "redis-6390" / "redis.log",
    ]
    old_recording = RECORDINGS / "1700000000.7.wav"  # Asterisk's file of an older install
    old_recording.write_bytes(b"RIFF")
    os.chown(old_recording, asterisk_uid(), -1)
    for path in [*opened, old_recording]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    RECORDINGS.chmod(0o755)
    try:
        for script in ("redis-start.sh", "asterisk-start.sh"):  # `make run` again
            subprocess.run(["bash", str(REPO / "scripts" / script)], env=stack.env, check=True, timeout=120)
        assert not_private(walk(state), state) == {}
        assert (mode(RECORDINGS), mode(old_recording)) == (0o700, 0o600)
        assert (state / "redis-6390" / "redis.pid").read_text().strip() == redis_pid  # Redis reused
        assert stack.redis().ping() and stack.ari("GET", "/asterisk/info")[0] == 200
    finally:
        old_recording.unlink(missing_ok=True)
