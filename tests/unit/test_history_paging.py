# The call history in pages (GET /api/v1/history, on a real SQLite archive through the
# app's routes): following `next` walks every call of the day exactly once, newest first,
# even when calls are archived between two pages or arrive at the same instant; the last
# page says there is none after it; the parameters of before still work (and at the
# former path); a bad limit or cursor is a 400 naming it.
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.unit.http_app import Api, api

DAY = datetime(2026, 11, 29, tzinfo=ZoneInfo("Asia/Makassar")).timestamp()  # the app's zone (WITA)
DATE = "2026-11-29"


def record(call_id: str, arrived: float, outcome: str = "answered") -> dict[str, Any]:
    timeline = [
        {"at": arrived, "entry": "arrived"},
        {"at": arrived + 60, "entry": "ended", "outcome": outcome},
    ]
    return {"call_id": call_id, "caller": "081234567890", "outcome": outcome, "timeline": timeline}


async def archive(app: Api, *records: dict[str, Any]) -> None:
    assert app.engine.archive is not None
    for one in records:
        await app.engine.archive.put(one)


async def page(app: Api, path: str = "/api/v1/history", **params: str) -> dict[str, Any]:
    response = await app.client.get(path, params=params, headers=app.auth("supervisor"))
    assert response.status == 200, await response.text()
    return dict(await response.json())


async def test_following_next_walks_every_call_once_while_calls_are_archived_between_pages(
    tmp_path: Path,
) -> None:
    async with api(archive=tmp_path / "calls.sqlite3") as app:
        first = [record(f"c{i:02}", DAY + 1000 + i * 10) for i in range(20)]
        first += [record(f"same-{n}", DAY + 1075) for n in "abcd"]  # four at one instant, across pages 2-3
        await archive(app, *first)
        seen: list[str] = []
        cursor: str | None = None
        late = [record("newer", DAY + 5000), record("older", DAY + 10)]  # after page 1, after page 2
        while True:
            reply = await page(app, day=DATE, limit="7", **({"cursor": cursor} if cursor else {}))
            assert reply["day"] == DATE and len(reply["calls"]) <= 7
            seen += [call["call_id"] for call in reply["calls"]]
            cursor = reply["next"]
            if cursor is None:
                break
            if late:
                await archive(app, late.pop(0))
        assert len(seen) == len(set(seen))  # none twice
        # the newer call came ahead of where the pages stood; the older one behind it
        assert set(seen) == {r["call_id"] for r in first} | {"older"}
        arrivals = {r["call_id"]: r["timeline"][0]["at"] for r in [*first, record("older", DAY + 10)]}
        assert seen == sorted(seen, key=lambda c: (arrivals[c], c), reverse=True)  # newest first
        again = await page(app, day=DATE, limit="1000")
        assert again["next"] is None and len(again["calls"]) == len(first) + 2


async def test_a_last_full_page_says_there_is_none_after_it(tmp_path: Path) -> None:
    async with api(archive=tmp_path / "calls.sqlite3") as app:
        await archive(app, *(record(f"c{i}", DAY + 100 + i) for i in range(4)))
        one = await page(app, day=DATE, limit="2")
        two = await page(app, day=DATE, limit="2", cursor=one["next"])
        assert [c["call_id"] for c in one["calls"] + two["calls"]] == ["c3", "c2", "c1", "c0"]
        assert two["next"] is None


async def test_the_parameters_of_before_still_filter_and_the_former_path_answers_the_same(
    tmp_path: Path,
) -> None:
    async with api(archive=tmp_path / "calls.sqlite3") as app:
        await archive(app, record("a", DAY + 100), record("b", DAY + 200, "abandoned-in-queue"))
        await archive(app, record("yesterday", DAY - 100))
        for path in ("/api/v1/history", "/api/history"):
            reply = await page(app, path, day=DATE, outcome="abandoned-in-queue")
            assert [c["call_id"] for c in reply["calls"]] == ["b"] and reply["next"] is None
            assert reply["calls"][0]["record"]["timeline"][0]["entry"] == "arrived"
            assert [c["call_id"] for c in (await page(app, path, day=DATE, caller="0899"))["calls"]] == []


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"cursor": "junk"}, "cursor"),
        ({"cursor": "WzEsMl0"}, "cursor"),  # [1,2]: no call id
        ({"cursor": "WzFlOTk5LCJhIl0"}, "cursor"),  # [1e999,"a"]: no time
        ({"cursor": "x" * 401}, "cursor"),
        ({"day": "2026-02-30"}, "day"),
    ],
)
async def test_a_bad_limit_cursor_or_day_is_a_400_naming_it(
    params: dict[str, str], parameter: str, tmp_path: Path
) -> None:
    async with api(archive=tmp_path / "calls.sqlite3") as app:
        response = await app.client.get("/api/v1/history", params=params, headers=app.auth("supervisor"))
        assert response.status == 400
        body = await response.json()
        assert body["code"] == "bad_parameter" and body["parameter"] == parameter
        assert body["error"].startswith(f"{parameter}: ")
