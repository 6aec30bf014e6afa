# The call history is private (ivr.adapters.archive): whatever the process's umask, the
# SQLite file and its -wal/-shm companions are the owner's only (0600), a folder it
# creates is 0700, and a file an older version left world-readable is narrowed at open.
from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivr.adapters.archive import Archive


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The umask of a shell that made everything world-readable (0644 files, 0755 folders)."""
    before = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(before)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def archive_one_call(path: Path) -> dict[str, int]:
    """Archives a call; the mode of each of the archive's files while it is open."""
    archive = Archive(path)
    record = {"call_id": "c1", "caller": "081234567890", "timeline": [{"entry": "arrived", "at": 1.0}]}
    asyncio.run(archive.put(record))
    modes = {f.name: mode(f) for f in path.parent.glob(path.name + "*")}
    archive.close()
    return modes


def test_a_new_archive_and_its_wal_files_are_the_owners_only(tmp_path: Path, open_umask: None) -> None:
    path = tmp_path / "state" / "calls.sqlite3"
    modes = archive_one_call(path)
    assert modes == {"calls.sqlite3": 0o600, "calls.sqlite3-wal": 0o600, "calls.sqlite3-shm": 0o600}
    assert mode(path.parent) == 0o700


def test_an_existing_world_readable_archive_is_narrowed(tmp_path: Path, open_umask: None) -> None:
    path = tmp_path / "calls.sqlite3"
    sqlite3.connect(path).close()
    path.chmod(0o644)
    modes = archive_one_call(path)
    assert modes == {"calls.sqlite3": 0o600, "calls.sqlite3-wal": 0o600, "calls.sqlite3-shm": 0o600}
