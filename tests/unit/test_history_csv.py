# The call history as a CSV file (GET /api/v1/history.csv, on a real SQLite archive
# through the app's routes): what a spreadsheet or a dispatch system reading it finds:
# a header row and one row per call, oldest first, times in the centre's zone, the file
# named after its days; a withheld caller as the JSON history shows them, marked; cells
# that would run as formulas defused; a bad day or range refused naming the parameter.
from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ivr.adapters.http import history_csv
from tests.unit.http_app import Api, api

ZONE = ZoneInfo("Asia/Makassar")  # the app's zone (WITA)
DAY = datetime(2026, 11, 29, tzinfo=ZONE).timestamp()
HEADER = ["call_id", "caller", "withheld", "dialled", "arrived_at", "answered_at", "ended_at", "outcome",
          "level", "verdict", "flags", "taker", "disposition", "agencies", "agency_joined_at", "recording",
          "callback_of", "incident_type", "kelurahan", "address", "incident_notes", "agency_arrived_at",
          "agency_arrivals"]  # fmt: skip
PRIVATE = "085712345678"


def record(call_id: str, arrived: float, caller: str = "081234567890", **fields: str) -> dict[str, Any]:
    timeline = [{"at": arrived, "entry": "arrived", "caller": caller},
                {"at": arrived + 9.25, "entry": "taker-answered", "taker": "taker01"},
                {"at": arrived + 60, "entry": "ended", "outcome": "answered"}]  # fmt: skip
    return {"call_id": call_id, "caller": caller, "dialled": "112", "outcome": "answered",
            "taker": "taker01", "timeline": timeline, **fields}  # fmt: skip


async def archive(app: Api, *records: dict[str, Any]) -> None:
    assert app.engine.archive is not None
    for one in records:
        await app.engine.archive.put(one)


async def export(app: Api, **params: str) -> tuple[list[dict[str, str]], str]:
    """The file's rows (by header) and its name, checking what every such file has."""
    response = await app.client.get("/api/v1/history.csv", params=params, headers=app.auth("supervisor"))
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"].startswith("text/csv; charset=utf-8")
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename=")
    text = (await response.read()).decode()
    assert text.startswith(",".join(HEADER) + "\r\n")  # RFC 4180 line ends
    reader = csv.reader(io.StringIO(text, newline=""))
    assert next(reader) == HEADER
    rows = [dict(zip(HEADER, row, strict=True)) for row in reader]
    return rows, disposition.split("filename=")[1].strip('"')


async def test_a_day_comes_as_a_header_and_one_row_per_call_oldest_first(tmp_path: Path) -> None:
    async with api(archive=tmp_path / "calls.sqlite3") as app:
        await archive(app, record("b", DAY + 3600.5), record("a", DAY + 60), record("before", DAY - 1))
        await archive(app, record("next-day", DAY + 86400))
        rows, name = await export(app, day="2026-11-29")
        assert name == "calls-2026-11-29.csv"
        assert [row["call_id"] for row in rows] == ["a", "b"]
        assert rows[1]["arrived_at"] == "2026-11-29T01:00:00.500+08:00"  # ISO 8601, WITA
        assert rows[1]["answered_at"] == "2026-11-29T01:00:09.750+08:00"
        assert rows[1]["ended_at"] == "2026-11-29T01:01:00.500+08:00"
        assert (rows[1]["caller"], rows[1]["dialled"], rows[1]["taker"]) == ("081234567890", "112", "taker01")
        assert rows[1]["agency_joined_at"] == "" and rows[1]["withheld"] == ""


async def test_a_range_includes_both_days_and_is_read_page_by_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(history_csv, "PAGE", 3)  # many pages from a few calls
    async with api(archive=tmp_path / "calls.sqlite3") as app:
        calls = [record(f"c{i:02}", DAY + i * 20_000) for i in range(-2, 14)]  # 28 Nov to 2 Dec
        same = [record(f"same-{n}", DAY + 40_000) for n in "abcd"]  # one instant, across pages
        await archive(app, *calls, *same)
        rows, name = await export(app, **{"from": "2026-11-29", "to": "2026-12-01"})
        assert name == "calls-2026-11-29-to-2026-12-01.csv"
        inside = [r for r in [*calls, *same] if DAY <= r["timeline"][0]["at"] < DAY + 3 * 86400]
        expected = sorted(inside, key=lambda r: (r["timeline"][0]["at"], r["call_id"]))
        assert [row["call_id"] for row in rows] == [r["call_id"] for r in expected]
        assert rows[-1]["arrived_at"].startswith("2026-12-01T")


async def test_a_withheld_caller_is_shown_as_the_json_history_shows_them_and_marked(tmp_path: Path) -> None:
    async with api(archive=tmp_path / "calls.sqlite3") as app:
        await archive(app, record("private", DAY + 100, PRIVATE, withheld="yes"), record("shown", DAY + 200))
        rows, _ = await export(app, day="2026-11-29")
        response = await app.client.get("/api/v1/history?day=2026-11-29", headers=app.auth("supervisor"))
        listed = {call["call_id"]: call["caller"] for call in (await response.json())["calls"]}
        assert {row["call_id"]: row["caller"] for row in rows} == listed
        assert {row["call_id"]: row["withheld"] for row in rows} == {"private": "yes", "shown": ""}
        for role in ("call-taker", "engineer"):  # neither may read the history, in any form
            refused = await app.client.get("/api/v1/history.csv", headers=app.auth(role))
            assert refused.status == 403 and PRIVATE not in await refused.text()


async def test_cells_that_would_run_as_formulas_are_defused_and_any_text_survives_quoting(
    tmp_path: Path,
) -> None:
    async with api(archive=tmp_path / "calls.sqlite3") as app:
        await archive(
            app,
            record("x1", DAY + 1, '=HYPERLINK("http://evil.example","call")', flags="@SUM(A1)"),
            record("x2", DAY + 2, "+62 812 cmd|' /C calc'!A0", disposition="-2+3", verdict="\tTAB"),
            record("ok", DAY + 3, "+6281234567890", level="-1", flags='line one\nsaid "hi", then'),
        )
        rows = {row["call_id"]: row for row in (await export(app, day="2026-11-29"))[0]}
        assert rows["x1"]["caller"] == '\'=HYPERLINK("http://evil.example","call")'
        assert rows["x1"]["flags"] == "'@SUM(A1)"
        assert rows["x2"]["caller"] == "'+62 812 cmd|' /C calc'!A0"
        assert (rows["x2"]["disposition"], rows["x2"]["verdict"]) == ("'-2+3", "'\tTAB")
        assert (rows["ok"]["caller"], rows["ok"]["level"]) == ("+6281234567890", "-1")  # plain numbers
        assert rows["ok"]["flags"] == 'line one\nsaid "hi", then'  # quoted, read back whole


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"day": "2026-13-01"}, "day"),
        ({"day": ""}, "day"),
        ({"day": "2026-11-29", "from": "2026-11-29"}, "day"),
        ({"from": "29-11-2026"}, "from"),
        ({"to": "2026-11-29"}, "from"),
        ({"from": "2026-11-29", "to": "tomorrow"}, "to"),
        ({"from": "2026-11-29", "to": "2026-11-28"}, "to"),
        ({"from": "2026-11-01", "to": "2026-12-02"}, "to"),  # 32 days
        ({"from": "1999-12-31"}, "from"),
    ],
)
async def test_a_bad_day_or_range_is_a_400_naming_the_parameter(
    params: dict[str, str], parameter: str, tmp_path: Path
) -> None:
    async with api(archive=tmp_path / "calls.sqlite3") as app:
        response = await app.client.get("/api/v1/history.csv", params=params, headers=app.auth("supervisor"))
        assert response.status == 400 and response.content_type == "application/json"
        body = await response.json()
        assert (body["code"], body["parameter"]) == ("bad_parameter", parameter)
        assert body["error"].startswith(f"{parameter}: ")


async def test_thirty_one_days_are_served(tmp_path: Path) -> None:
    async with api(archive=tmp_path / "calls.sqlite3") as app:
        await archive(app, record("first", DAY - 28 * 86400), record("last", DAY + 2 * 86400 + 10))
        rows, name = await export(app, **{"from": "2026-11-01", "to": "2026-12-01"})
        assert [row["call_id"] for row in rows] == ["first", "last"]
        assert name == "calls-2026-11-01-to-2026-12-01.csv"
