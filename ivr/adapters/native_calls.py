"""Turns the lines the dialplan leaves for calls the native queue handled into call
records, when the control plane is (back) connected.

Where the lines are: Asterisk's database, family ivr112-native, one key per call (its
id), read and deleted through AMI (DBGetTree, DBDel: ARI cannot read the database), so
without AMI these calls get no record (said once in the log). What a line becomes:
ivr/core/native_line.py.

Rules:
- In the cluster form every node's database is swept (each node's AMI): a call the
  native queue took on any node gets its record.
- A line is deleted only after its entries are stored; a sweep that fails (Redis or AMI
  away) leaves every line where it is for the next one, and a line whose entries are
  already stored is not written twice.
- A line that cannot be read is kept in Asterisk's database and logged (once per run)
  with what is wrong: nothing is lost, a person can read it there.
- A new record is finished like any call (counted, archived); a handed-over call's
  archive row follows its record; the entries stored go to the event feed as they would
  have from the control plane (a late arrival and end, with their own times).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Protocol

from ivr.adapters.ami import AmiUnavailable
from ivr.adapters.call_store import CallStore, StoreUnavailable
from ivr.core import native_line
from ivr.core.commands import RecordTimeline

log = logging.getLogger(__name__)

FAMILY = "ivr112-native"
# Asterisk's unique ids, with the node's systemname first in the cluster form ("a1-..."):
# another key is not a call's line.
CALL_ID = re.compile(r"^(?:[a-z][a-z0-9]{0,7}-)?[0-9]+\.[0-9]+$")


class Database(Protocol):
    """Asterisk's database (ami.PhoneWatch)."""

    logged_in: bool

    async def database(self, family: str) -> dict[str, str]: ...

    async def database_delete(self, family: str, key: str) -> None: ...


class NativeCalls:
    def __init__(
        self,
        database: Database,
        store: CallStore,
        taker_of: Callable[[str], str],
        finished: Callable[[str, str], None],
        changed: Callable[[str], Awaitable[None]],
        note: Callable[[RecordTimeline], None] = lambda _: None,
    ) -> None:
        self._db = database
        self._store = store
        self._taker_of = taker_of
        self._finished = finished  # a new record: count and archive it
        self._changed = changed  # an existing record changed: its archive row follows
        self._note = note  # each entry stored is offered to the event feed for other systems
        self._reported: set[str] = set()  # unreadable lines already logged

    async def sweep(self, every_seconds: float = 10) -> None:
        """Collects every few seconds while AMI is up; a failed sweep is retried (logged once)."""
        failing = False
        while True:
            if self._db.logged_in:
                try:
                    await self.collect()
                    failing = False
                except (AmiUnavailable, StoreUnavailable) as exc:
                    if not failing:
                        log.warning("native queue calls not recorded yet (retried): %s", exc)
                    failing = True
            await asyncio.sleep(every_seconds)

    async def collect(self) -> int:
        """Store every native line Asterisk holds; returns how many became records.
        Raises AmiUnavailable or StoreUnavailable (the sweep stops, the lines stay)."""
        done = 0
        for call_id, line in (await self._db.database(FAMILY)).items():
            if not CALL_ID.match(call_id):
                self._report(call_id, f"key {call_id!r} is not a call id")
                continue
            try:
                call = native_line.parse(call_id, line)
            except native_line.NativeLineInvalid as exc:
                self._report(call_id, str(exc))
                continue
            if await self._keep(call):
                done += 1
            await self._db.database_delete(FAMILY, call_id)
        return done

    async def _keep(self, call: native_line.NativeCall) -> bool:
        record = await self._store.get(call.call_id)
        if record is not None and native_line.already_kept(record.get("timeline", [])):
            return False
        # The control plane's own record of the call (it handed the caller over) has ended;
        # anything else is ours to write whole.
        handed_over = record is not None and bool(record.get("outcome"))
        for entry in native_line.entries(call, handed_over, self._taker_of):
            await self._store.append(entry.call_id, entry.entry, entry.at, entry.detail)
            self._note(entry)
        log.info(
            "call %s handled by the native queue (%s): %s",
            call.call_id,
            native_line.WHY[call.why],
            call.outcome.value,
        )
        if not handed_over:
            self._finished(call.call_id, call.outcome.value)
        else:
            await self._changed(call.call_id)
        return True

    def _report(self, key: str, problem: str) -> None:
        if key not in self._reported:
            self._reported.add(key)
            log.error("native call line %s/%s kept unread in Asterisk's database: %s", FAMILY, key, problem)
