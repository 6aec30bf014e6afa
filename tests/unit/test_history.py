# The call history (ivr.adapters.archive on a real SQLite file) and the key figures computed
# from it (ivr.core.kpis, pure); the metrics are tests/unit/test_metrics.py's.
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from ivr.adapters.archive import SCHEMA_VERSION, Archive, ArchiveError, row_of
from ivr.core import kpis

DAY = 1_795_795_200.0  # 2026-11-28 16:00 UTC = 2026-11-29 00:00 WITA


def record(
    call_id: str, arrived: float, answered: float | None, outcome: str, **fields: str
) -> dict[str, Any]:
    timeline = [{"at": arrived, "entry": "arrived"}, {"at": arrived + 1, "entry": "answered"},
                {"at": arrived + 8, "entry": "greeting-done"}]  # fmt: skip
    if answered is not None:
        timeline.append({"at": answered, "entry": "taker-answered", "taker": "taker01"})
    timeline.append({"at": arrived + 60, "entry": "ended", "outcome": outcome})
    return {"call_id": call_id, "caller": "0812", "outcome": outcome, "timeline": timeline, **fields}


def test_a_new_file_gets_the_schema_and_a_newer_one_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "calls.sqlite3"
    Archive(path).close()
    db = sqlite3.connect(path)
    assert db.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    db.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    db.commit()
    db.close()
    with pytest.raises(ArchiveError, match="newer than this control plane"):
        Archive(path)


async def test_calls_are_archived_replaced_and_queried_by_day_outcome_and_caller(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "calls.sqlite3")
    await archive.put(record("a", DAY + 100, DAY + 109, "answered", verdict="normal"))
    await archive.put(record("b", DAY + 200, None, "abandoned-in-queue"))
    await archive.put(record("c", DAY - 100, DAY - 90, "answered"))  # the day before
    await archive.put(record("a", DAY + 100, DAY + 109, "answered", disposition="genuine"))  # replaced
    rows = await archive.history(DAY, DAY + 86400)
    assert [r["call_id"] for r in rows] == ["b", "a"]  # newest first
    assert rows[1]["disposition"] == "genuine" and rows[1]["answered_at"] == DAY + 109
    assert rows[1]["record"]["timeline"][0]["entry"] == "arrived"
    assert [r["call_id"] for r in await archive.history(DAY, DAY + 86400, outcome="answered")] == ["a"]
    assert await archive.history(DAY, DAY + 86400, caller="0899") == []
    archive.close()
    reopened = Archive(tmp_path / "calls.sqlite3")  # durable: still there after a restart
    assert len(await reopened.history(0, DAY + 86400)) == 3
    reopened.close()


def rows(*specs: tuple[float | None, str, str]) -> list[dict[str, Any]]:
    """(seconds to answer or None, outcome, verdict) -> archive rows, one per second."""
    made = []
    for i, (wait, outcome, verdict) in enumerate(specs):
        arrived = DAY + i
        made.append(row_of(record(f"c{i}", arrived, None if wait is None else arrived + wait, outcome,
                                  verdict=verdict)))  # fmt: skip
    return made


def test_key_figures() -> None:
    figures = kpis.compute(
        rows(
            (8.0, "answered", "normal"),
            (12.0, "answered", "emergency"),
            (25.0, "overflowed", "silent"),
            (None, "abandoned-in-queue", "prank"),
            (None, "handed-to-fallback", "normal"),  # neither answered nor abandoned here
        )
    )
    assert (figures["calls"], figures["answered"], figures["abandoned"]) == (5, 3, 1)
    assert figures["abandon_rate"] == 0.25
    assert figures["answered_within"] == {"10": 0.25, "15": 0.5, "20": 0.5}
    assert figures["average_answer_seconds"] == 15.0
    assert figures["prank_share"] == 0.2 and figures["silent_share"] == 0.2
    assert figures["calls_per_hour"][0] == 5  # midnight WITA
    assert figures["answer_time_distribution"] == {"<=5": 0, "<=10": 1, "<=15": 1, "<=20": 0, "<=30": 1,
                                                   "<=60": 0, ">60": 0}  # fmt: skip


def test_no_calls_give_no_figures_rather_than_zeros() -> None:
    figures = kpis.compute([])
    assert figures["abandon_rate"] is None and figures["average_answer_seconds"] is None
