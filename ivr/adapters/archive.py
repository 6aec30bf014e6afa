"""The durable call history: every finished call's record, archived to SQLite.

Redis holds live state and recent records (they expire); this file keeps the history
the API's history and KPI queries read. One row per call, its timeline as JSON.

Rules:
- The schema is versioned (table schema_version); opening an older file migrates it
  step by step, a newer one is refused, untouched, with a message naming both versions.
- A step and its version write are one transaction (BEGIN IMMEDIATE ... COMMIT on a
  connection in autocommit mode, statements run one by one: executescript would commit
  halfway): a crash or a failing statement leaves the file at the previous version, and
  the next start runs the step again; a file an earlier release left half-migrated (its
  step done, its version not written) is finished, not refused.
- Writes happen in a worker thread, one at a time, so the event loop never waits on
  disk; a failed write is logged and costs the archive row, never the call.
- Archiving the same call again replaces its row (a disposition set later, an incident
  record written or corrected later, a record completed after a Redis outage).
- The file holds every caller's number, withheld ones too: it is created mode 0600 (its
  folder, when created here, 0700) before SQLite opens it, and an existing one is set to
  0600 at open; SQLite gives its -wal and -shm files the same mode.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ivr.adapters.call_store import first_at
from ivr.adapters.thread_names import name_this_thread
from ivr.core import incident
from ivr.core.location import record_locations

log = logging.getLogger(__name__)

SCHEMA_VERSION = 3
ADD_COLUMN = re.compile(r"^\s*ALTER TABLE (?P<table>\w+) ADD COLUMN (?P<column>\w+)", re.IGNORECASE)
# Each step's statements, taking the file from the version before to this one; each can
# meet its own work done by a release that crashed before writing the version.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """
        CREATE TABLE IF NOT EXISTS calls (
            call_id      TEXT PRIMARY KEY,
            caller       TEXT NOT NULL DEFAULT '',
            dialled      TEXT NOT NULL DEFAULT '',
            arrived_at   REAL NOT NULL,
            answered_at  REAL,            -- a call taker (or the overflow target) answered
            ended_at     REAL,
            outcome      TEXT NOT NULL DEFAULT '',
            level        TEXT NOT NULL DEFAULT '',
            verdict      TEXT NOT NULL DEFAULT '',
            flags        TEXT NOT NULL DEFAULT '',
            taker        TEXT NOT NULL DEFAULT '',
            disposition  TEXT NOT NULL DEFAULT '',
            agencies     TEXT NOT NULL DEFAULT '',  -- agencies that joined, space separated
            agency_joined_at REAL,        -- the first agency joining
            recording    TEXT NOT NULL DEFAULT '',
            record       TEXT NOT NULL   -- the whole record with its timeline, JSON
        )
        """,
        "CREATE INDEX IF NOT EXISTS calls_by_arrival ON calls (arrived_at)",
        "CREATE INDEX IF NOT EXISTS calls_by_caller ON calls (caller, arrived_at)",
    ),
    2: (
        # a callback: the abandoned call it returns
        "ALTER TABLE calls ADD COLUMN callback_of TEXT NOT NULL DEFAULT ''",
    ),
    3: (
        # the incident record (the whole of it is in `record`): its type and kelurahan, the
        # first agency on scene, and every agency's joining and arrival (JSON) for the city's figures
        "ALTER TABLE calls ADD COLUMN incident_type TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE calls ADD COLUMN kelurahan TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE calls ADD COLUMN agency_arrived_at REAL",
        "ALTER TABLE calls ADD COLUMN agency_times TEXT NOT NULL DEFAULT ''",
        # the caller's location: the accuracy (m) of the latest fix (NULL: none or unknown),
        # and whether the call had any fix (the fixes themselves are in `record`)
        "ALTER TABLE calls ADD COLUMN location_accuracy REAL",
        "ALTER TABLE calls ADD COLUMN located INTEGER NOT NULL DEFAULT 0",
    ),
}


class ArchiveError(Exception):
    pass


def row_of(record: dict[str, Any]) -> dict[str, Any]:
    """The archive row of a call record (hash fields + timeline) from the call store."""
    timeline = record.get("timeline", [])

    def first(entry: str) -> float | None:
        return first_at(timeline, entry)

    joined = [e for e in timeline if e.get("entry") == "agency-joined"]
    arrived = first("arrived")
    return {
        "call_id": record["call_id"],
        "caller": record.get("caller", ""),
        "dialled": record.get("dialled", ""),
        "arrived_at": arrived if arrived is not None else float(record.get("arrived_at", 0.0)),
        "answered_at": first("taker-answered"),
        "ended_at": first("ended"),
        "outcome": record.get("outcome", ""),
        "level": record.get("level", ""),
        "verdict": record.get("verdict", ""),
        "flags": record.get("flags", ""),
        "taker": record.get("taker", ""),
        "disposition": record.get("disposition", ""),
        "agencies": " ".join(dict.fromkeys(str(e.get("agency", "")) for e in joined)),
        "agency_joined_at": float(joined[0]["at"]) if joined else None,
        "recording": next(
            (str(e.get("recording", "")) for e in timeline if e.get("entry") == "recording"), ""
        ),
        "callback_of": record.get("callback_of", ""),
        **incident.row_fields(record.get("incident"), timeline),
        **_location_fields(timeline),
        "record": json.dumps(record, sort_keys=True),
    }


def _location_fields(timeline: list[dict[str, Any]]) -> dict[str, Any]:
    """The archive's location columns: the latest fix's accuracy, and whether there was one."""
    latest, fixes = record_locations(timeline)
    return {"location_accuracy": latest["accuracy_m"] if latest else None, "located": int(bool(fixes))}


def private_file(path: Path) -> None:
    """Creates `path` (and its folder) for the owner only, or narrows an existing one to 0600."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if file.exists():
            file.chmod(0o600)


class Archive:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(1, "archive", initializer=name_this_thread)
        private_file(path)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._migrate()
        except BaseException:
            self.close()
            raise

    def _migrate(self) -> None:
        with self._lock:
            while (version := self._step()) is not None:
                log.info("archive %s migrated to schema %d", self.path, version)

    def _step(self) -> int | None:
        """Runs the next migration step and its version write in one transaction: the
        version reached, or None when the file is current."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            current = db.execute("SELECT max(version) FROM schema_version").fetchone()[0] or 0
            if current > SCHEMA_VERSION:
                raise ArchiveError(
                    f"{self.path}: archive schema {current} is newer than this control plane's "
                    f"({SCHEMA_VERSION}); upgrade the control plane"
                )
            if current == SCHEMA_VERSION:
                db.execute("COMMIT")
                return None
            for statement in MIGRATIONS[current + 1]:
                if not self._done_already(statement):
                    db.execute(statement)
            db.execute("DELETE FROM schema_version")
            db.execute("INSERT INTO schema_version VALUES (?)", (current + 1,))
            db.execute("COMMIT")
            return current + 1
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def _done_already(self, statement: str) -> bool:
        """A column that a release before this one added without its version write (a
        crash between the two) is there already: the step goes on without it."""
        added = ADD_COLUMN.match(statement)
        if added is None:
            return False
        columns = {row["name"] for row in self._db.execute(f"PRAGMA table_info({added['table']})")}
        return added["column"] in columns

    # ---- writing ---------------------------------------------------------------------------
    def _put(self, row: dict[str, Any]) -> None:
        names = ", ".join(row)
        marks = ", ".join(f":{k}" for k in row)
        with self._lock:
            self._db.execute(f"INSERT OR REPLACE INTO calls ({names}) VALUES ({marks})", row)

    async def put(self, record: dict[str, Any]) -> None:
        try:
            await asyncio.get_running_loop().run_in_executor(self._pool, self._put, row_of(record))
        except (sqlite3.Error, KeyError, ValueError) as exc:
            log.error("call %s not archived: %s", record.get("call_id"), exc)

    # ---- reading ---------------------------------------------------------------------------
    def _query(self, sql: str, args: tuple[Any, ...]) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self._db.execute(sql, args).fetchall()]

    async def query(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._query, sql, args)

    async def history(
        self,
        since: float,
        until: float,
        outcome: str | None = None,
        caller: str | None = None,
        limit: int = 100,
        after: tuple[float, str] | None = None,
        oldest_first: bool = False,
    ) -> list[dict[str, Any]]:
        """The calls that arrived in [since, until), newest first (or oldest first), ordered
        by (arrived_at, call_id); `after` such a key (the last row of the page before), the
        rows past it: a call archived between two pages repeats or hides no other call."""
        sql = "SELECT * FROM calls WHERE arrived_at >= ? AND arrived_at < ?"
        args: list[Any] = [since, until]
        if outcome:
            sql += " AND outcome = ?"
            args.append(outcome)
        if caller:
            sql += " AND caller = ?"
            args.append(caller)
        if after is not None:
            sql += f" AND (arrived_at, call_id) {'>' if oldest_first else '<'} (?, ?)"
            args.extend(after)
        order = "ASC" if oldest_first else "DESC"
        sql += f" ORDER BY arrived_at {order}, call_id {order} LIMIT ?"
        args.append(limit)
        rows = await self.query(sql, *args)
        for row in rows:
            row["record"] = json.loads(row["record"])
        return rows

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        with self._lock:
            self._db.close()
