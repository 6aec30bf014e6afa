# Opening an older call archive (ivr.adapters.archive) migrates it and keeps every call:
# a control plane killed in the middle of a migration leaves a file the next start
# migrates and uses (so does one an earlier release left half-migrated), a failing step
# leaves the file as it was, and a file newer than the control plane is refused,
# untouched, with both versions named.
from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ivr.adapters import archive as archive_module
from ivr.adapters.archive import SCHEMA_VERSION, Archive, ArchiveError

# The archive as the first release wrote it: schema version 1, no callback_of column.
VERSION_1 = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version VALUES (1);
CREATE TABLE calls (
    call_id      TEXT PRIMARY KEY,
    caller       TEXT NOT NULL DEFAULT '',
    dialled      TEXT NOT NULL DEFAULT '',
    arrived_at   REAL NOT NULL,
    answered_at  REAL,
    ended_at     REAL,
    outcome      TEXT NOT NULL DEFAULT '',
    level        TEXT NOT NULL DEFAULT '',
    verdict      TEXT NOT NULL DEFAULT '',
    flags        TEXT NOT NULL DEFAULT '',
    taker        TEXT NOT NULL DEFAULT '',
    disposition  TEXT NOT NULL DEFAULT '',
    agencies     TEXT NOT NULL DEFAULT '',
    agency_joined_at REAL,
    recording    TEXT NOT NULL DEFAULT '',
    record       TEXT NOT NULL
);
CREATE INDEX calls_by_arrival ON calls (arrived_at);
CREATE INDEX calls_by_caller ON calls (caller, arrived_at);
"""

# A control plane that dies (no clean-up, like kill -9 or a power cut) the moment its
# migration starts writing the new schema version, after the step's own changes ran.
DIE_AT_THE_VERSION_WRITE = """
import os, sqlite3, sys
from pathlib import Path
from ivr.adapters.archive import Archive

connect = sqlite3.connect

def dying_connect(*args, **kwargs):
    db = connect(*args, **kwargs)
    def trace(sql):
        words = sql.split()
        if words and words[0].upper() in {"INSERT", "UPDATE", "DELETE", "REPLACE"} \\
                and "schema_version" in sql.lower():
            os._exit(17)
    db.set_trace_callback(trace)
    return db

sqlite3.connect = dying_connect
Archive(Path(sys.argv[1]))
sys.exit(0)
"""


def call(call_id: str, arrived: float, **fields: str) -> dict[str, Any]:
    return {"call_id": call_id, "caller": "0812", "outcome": "answered",
            "timeline": [{"at": arrived, "entry": "arrived"}], **fields}  # fmt: skip


def version_1_file(path: Path, calls: int) -> None:
    db = sqlite3.connect(path)
    db.executescript(VERSION_1)
    db.executemany(
        "INSERT INTO calls (call_id, caller, arrived_at, outcome, record)"
        " VALUES (?, '0812', ?, 'answered', '{}')",
        [(f"old-{n}", 1000.0 + n) for n in range(calls)],
    )
    db.commit()
    db.close()


def schema_version(path: Path) -> list[tuple[int]]:
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT version FROM schema_version").fetchall()
    finally:
        db.close()


def calls_in(archive: Archive) -> list[str]:
    rows = asyncio.run(archive.history(0.0, 1e12, limit=1000))
    return sorted(row["call_id"] for row in rows)


def a_new_call_is_kept(archive: Archive) -> None:
    asyncio.run(archive.put(call("new", 5000.0, callback_of="old-0")))
    rows = asyncio.run(archive.history(4999.0, 5001.0))
    assert [(r["call_id"], r["callback_of"]) for r in rows] == [("new", "old-0")]


@pytest.mark.parametrize("old_calls", [None, 3], ids=["new-file", "version-1-file"])
def test_a_control_plane_killed_mid_migration_leaves_a_file_the_next_start_migrates(
    tmp_path: Path, old_calls: int | None
) -> None:
    path = tmp_path / "calls.sqlite3"
    if old_calls is not None:
        version_1_file(path, old_calls)
    died = subprocess.run(
        [sys.executable, "-c", DIE_AT_THE_VERSION_WRITE, str(path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert died.returncode == 17, died.stderr  # it died where it was meant to
    archive = Archive(path)
    try:
        assert schema_version(path) == [(SCHEMA_VERSION,)]
        assert calls_in(archive) == [f"old-{n}" for n in range(old_calls or 0)]
        a_new_call_is_kept(archive)
    finally:
        archive.close()


def test_a_version_1_file_is_migrated_and_keeps_its_calls(tmp_path: Path) -> None:
    path = tmp_path / "calls.sqlite3"
    version_1_file(path, 3)
    archive = Archive(path)
    try:
        assert schema_version(path) == [(SCHEMA_VERSION,)]
        assert calls_in(archive) == ["old-0", "old-1", "old-2"]
        old = asyncio.run(archive.history(1000.0, 1001.0))
        assert old[0]["callback_of"] == ""
        a_new_call_is_kept(archive)
    finally:
        archive.close()
    Archive(path).close()  # a file this release wrote opens again as it is
    assert schema_version(path) == [(SCHEMA_VERSION,)]


def test_a_step_that_fails_leaves_the_file_at_its_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "calls.sqlite3"
    version_1_file(path, 2)
    failing = (
        "ALTER TABLE calls ADD COLUMN callback_of TEXT NOT NULL DEFAULT ''",
        "UPDATE calls SET no_such_column = 1",
    )
    monkeypatch.setitem(archive_module.MIGRATIONS, 2, failing)
    with pytest.raises(sqlite3.OperationalError, match="no such column"):
        Archive(path)
    assert schema_version(path) == [(1,)]
    db = sqlite3.connect(path)
    assert "callback_of" not in [row[1] for row in db.execute("PRAGMA table_info(calls)")]
    db.close()
    monkeypatch.undo()
    archive = Archive(path)
    try:
        assert calls_in(archive) == ["old-0", "old-1"]
        a_new_call_is_kept(archive)
    finally:
        archive.close()


def test_a_file_an_earlier_release_left_half_migrated_is_finished(tmp_path: Path) -> None:
    """The release before this one added the column, then died before writing version 2."""
    path = tmp_path / "calls.sqlite3"
    version_1_file(path, 2)
    db = sqlite3.connect(path)
    db.execute("ALTER TABLE calls ADD COLUMN callback_of TEXT NOT NULL DEFAULT ''")
    db.commit()
    db.close()
    archive = Archive(path)
    try:
        assert schema_version(path) == [(SCHEMA_VERSION,)]
        assert calls_in(archive) == ["old-0", "old-1"]
        a_new_call_is_kept(archive)
    finally:
        archive.close()


def test_a_newer_file_is_refused_naming_both_versions_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "calls.sqlite3"
    version_1_file(path, 1)
    db = sqlite3.connect(path)
    db.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    db.commit()
    db.close()
    newer = rf"archive schema {SCHEMA_VERSION + 1} is newer than this control plane's \({SCHEMA_VERSION}\)"
    with pytest.raises(ArchiveError, match=newer):
        Archive(path)
    assert schema_version(path) == [(SCHEMA_VERSION + 1,)]
    db = sqlite3.connect(path)
    columns = [row[1] for row in db.execute("PRAGMA table_info(calls)")]
    assert "callback_of" not in columns
    assert db.execute("SELECT call_id FROM calls").fetchall() == [("old-0",)]
    db.close()
