# The desk's list of a caller's earlier calls (ivr.adapters.http.snapshot.DeskMemory, on a
# real SQLite archive): a withheld caller gets no list (it would link the call to calls
# where the number was shown); a shown caller's list leaves out earlier withheld calls.
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from ivr.adapters.archive import Archive
from ivr.adapters.http.centre import Centre
from ivr.adapters.http.snapshot import DeskMemory

NUMBER = "085712345678"


def record(call_id: str, at: float, withheld: bool, outcome: str = "abandoned-in-queue") -> dict[str, Any]:
    mark = {"withheld": "yes"} if withheld else {}
    timeline = [{"at": at, "entry": "arrived", "caller": NUMBER, **mark},
                {"at": at + 30, "entry": "ended", "outcome": outcome}]  # fmt: skip
    return {"call_id": call_id, "caller": NUMBER, "outcome": outcome, "timeline": timeline, **mark}


async def test_earlier_calls_are_never_linked_across_a_withheld_number(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "calls.sqlite3")
    await archive.put(record("shown-1", 1000.0, withheld=False, outcome="answered"))
    await archive.put(record("private-1", 2000.0, withheld=True))
    await archive.put(record("shown-2", 3000.0, withheld=False))
    centre = cast(Centre, SimpleNamespace(archive=archive))
    desk = DeskMemory()

    assert await desk.history(centre, "private-now", NUMBER, 5000.0, withheld=True) == []
    earlier = await desk.history(centre, "shown-now", NUMBER, 5000.0, withheld=False)
    assert [row["call_id"] for row in earlier] == ["shown-2", "shown-1"]  # latest first, no withheld one
    archive.close()
